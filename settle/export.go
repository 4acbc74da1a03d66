package settle

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/xuri/excelize/v2"
)

// Exports for the district's finance office and the organisation: one CSV
// (UTF-8 with a byte-order mark, which Excel and WPS need to read Chinese
// correctly) and one XLSX per organisation, headed in Chinese, amounts in
// yuan with two decimals. Residents appear by a pseudonymous number, not
// by name or internal ID: a statement travels by e-mail.

var lineHeadings = []string{"服务日期", "居民编号", "服务项目", "计费单位", "数量", "单价(元)", "金额(元)", "补贴(元)", "自付(元)", "核验方式", "封顶", "调整所属月份", "服务记录号"}

var heldHeadings = []string{"服务日期", "居民编号", "服务项目", "暂扣原因", "服务记录号"}

var holdNames = map[string]string{
	carehex.HoldNotVerified:   "未签到核验",
	carehex.HoldEVVUnresolved: "核验异常待处理",
	carehex.HoldEVVRejected:   "核验已驳回",
	carehex.HoldNoContract:    "无有效服务合同",
	carehex.HoldNoFunding:     "无补贴资格",
	carehex.HoldNoCardScan:    "缺少服务卡刷卡",
}

var unitNames = map[carehex.Unit]string{carehex.UnitVisit: "次", carehex.UnitHour: "分钟"}

var verificationNames = map[string]string{"geofence": "定位核验", "approved": "人工审核通过", "geofence_card": "定位+服务卡核验"}

// Pseudonym is the resident's number on exports: stable for a resident,
// not their ID.
func Pseudonym(residentID string) string {
	sum := sha256.Sum256([]byte("carehex-resident|" + residentID))
	return "R" + strings.ToUpper(hex.EncodeToString(sum[:5]))
}

func nameOr(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

func lineRow(l *carehex.StatementLine, zone *time.Location) []string {
	capped := ""
	if l.Capped {
		capped = "是"
	}
	unit := unitNames[l.Unit]
	if unit == "" {
		unit = string(l.Unit)
	}
	return []string{l.ServiceTime.In(zone).Format("2006-01-02"), Pseudonym(l.ResidentID), l.ServiceCode, unit,
		strconv.FormatInt(l.Units, 10), carehex.FormatFen(l.PriceFen), carehex.FormatFen(l.ChargeFen),
		carehex.FormatFen(l.SubsidyFen), carehex.FormatFen(l.CopayFen), nameOr(verificationNames, l.Verification), capped,
		l.AdjustsMonth, l.VisitID}
}

func heldRow(h *carehex.HeldVisit, zone *time.Location) []string {
	return []string{h.FinishTime.In(zone).Format("2006-01-02"), Pseudonym(h.ResidentID), h.ServiceCode,
		nameOr(holdNames, h.Reason), h.VisitID}
}

func title(st *carehex.Statement, orgName string) []string {
	status := "草稿"
	if st.Status == carehex.StatementClosed {
		status = "已结账 摘要 " + st.Digest
	}
	return []string{"结算单", orgName, st.Month, status}
}

func totalsRow(st *carehex.Statement) []string {
	return []string{"合计", "", "", "", strconv.Itoa(len(st.Lines)), "", carehex.FormatFen(st.TotalFen),
		carehex.FormatFen(st.SubsidyFen), carehex.FormatFen(st.CopayFen)}
}

// WriteCSV writes st as CSV in UTF-8 with a BOM: a title row, the lines
// with a totals row, then the held-back visits.
func WriteCSV(w io.Writer, st *carehex.Statement, orgName string, zone *time.Location) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	rows := [][]string{title(st, orgName), lineHeadings}
	for _, l := range st.Lines {
		rows = append(rows, lineRow(l, zone))
	}
	rows = append(rows, totalsRow(st), nil, []string{"暂扣明细"}, heldHeadings)
	for _, h := range st.Held {
		rows = append(rows, heldRow(h, zone))
	}
	for _, r := range rows {
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteXLSX writes st as a workbook: sheet 结算明细 (title, lines, totals)
// and sheet 暂扣明细 (held-back visits).
func WriteXLSX(w io.Writer, st *carehex.Statement, orgName string, zone *time.Location) error {
	f := excelize.NewFile()
	defer f.Close()
	const lines, held = "结算明细", "暂扣明细"
	if err := f.SetSheetName("Sheet1", lines); err != nil {
		return err
	}
	if _, err := f.NewSheet(held); err != nil {
		return err
	}
	put := func(sheet string, row int, vals []string) error {
		cell, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = v
		}
		return f.SetSheetRow(sheet, cell, &out)
	}
	rows := [][]string{title(st, orgName), lineHeadings}
	for _, l := range st.Lines {
		rows = append(rows, lineRow(l, zone))
	}
	rows = append(rows, totalsRow(st))
	for i, r := range rows {
		if err := put(lines, i+1, r); err != nil {
			return err
		}
	}
	hrows := [][]string{heldHeadings}
	for _, h := range st.Held {
		hrows = append(hrows, heldRow(h, zone))
	}
	for i, r := range hrows {
		if err := put(held, i+1, r); err != nil {
			return err
		}
	}
	return f.Write(w)
}

// WriteFiles writes every statement of res as <month>-<org ID>.csv and
// .xlsx under dir, returning the paths written.
func WriteFiles(dir string, res *Result, zone *time.Location) ([]string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var paths []string
	for _, st := range res.Statements {
		base := filepath.Join(dir, st.Month+"-"+st.OrgID)
		for _, ext := range []struct {
			suffix string
			write  func(io.Writer, *carehex.Statement, string, *time.Location) error
		}{{".csv", WriteCSV}, {".xlsx", WriteXLSX}} {
			path := base + ext.suffix
			if err := writeFile(path, func(w io.Writer) error { return ext.write(w, st, nameOr(res.OrgNames, st.OrgID), zone) }); err != nil {
				return paths, err
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
