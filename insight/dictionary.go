package insight

import (
	"fmt"
	"io"
	"time"
)

// WriteDictionary writes the data dictionary (数据字典) that goes beside the
// files, Chinese first, then English.
func (r *Result) WriteDictionary(w io.Writer) error {
	o := r.Opts
	last := o.To.AddDate(0, 0, -1).Format(time.DateOnly)
	_, err := fmt.Fprintf(w, dictionary,
		o.From.Format(time.DateOnly), last, o.Res, o.Res-1, o.K,
		r.Figures.Cells, r.Figures.Rows, r.Figures.Requests, r.Figures.Suppressed,
		o.From.Format(time.DateOnly), last, o.Res, o.Res-1, o.K,
		r.Figures.Cells, r.Figures.Rows, r.Figures.Requests, r.Figures.Suppressed)
	return err
}

const dictionary = `# 居家养老服务需求开放数据 · 数据字典

统计期：%s 至 %s（北京时间，按日）。空间单元：H3 第 %d 级六边形；服务对象少于 k 人的单元并入其上一级（第 %d 级）单元，仍不足 k 人的不发布。k = %d。
本期发布 %d 个单元、%d 行，共 %d 件服务需求；因不足 k 人而未发布的需求 %d 件。

数据已脱敏：不含姓名、电话、地址、身份证号、内部编号或精确时间；一个单元代表统计期内至少 k 位不同的服务对象。
单元若为上一级（h3_res 较小），只代表并入它的那些小单元，不含另行发布的下级单元。

## open-data.csv（UTF-8，带 BOM）每行：一个单元 × 一天 × 一个服务大类

| 列 | 含义 |
|---|---|
| date | 日期（北京时间） |
| h3_cell | H3 单元编号（十六进制） |
| h3_res | 该单元的 H3 级别 |
| category | 服务大类代码：information 信息咨询，daily_life 生活照料，health 医疗保健，housekeeping 家政维修，education 教育培训，emergency 紧急救助 |
| requests | 当天该单元该大类的服务需求数 |
| filled | 其中有服务人员接单的需求数 |
| fill_rate | 接单率 = filled / requests，三位小数 |
| median_accept_s | 从受理到接单的中位时长（秒）；无接单为 -1 |
| median_arrive_s | 从受理到服务人员到达的中位时长（秒）；无到达为 -1 |

## open-data.geojson 每个要素：一个单元 × 一天

几何为该单元的六边形（WGS-84 经纬度）；属性 date、h3_cell、h3_res、requests、filled、fill_rate、median_accept_s、median_arrive_s 含义同上（不分大类），requests_by_category 为各大类的需求数。

---

# Open data on home elderly-care requests · data dictionary

Period: %s to %s (China Standard Time, by day). Unit: H3 hexagons at resolution %d; a cell standing for fewer than k residents is merged into its parent (resolution %d), and left out if still under k. k = %d.
This release: %d cells, %d rows, %d requests; %d requests left out because their area had fewer than k residents.

Desensitised: no names, phones, addresses, ID numbers, internal IDs or exact times; every cell stands for at least k distinct residents over the period.
A parent cell (smaller h3_res) stands only for the small cells merged into it, not for its children published on their own.

## open-data.csv (UTF-8 with BOM), one row per cell × day × service category

| column | meaning |
|---|---|
| date | day (China Standard Time) |
| h3_cell | H3 cell index (hex) |
| h3_res | the cell's H3 resolution |
| category | service category code: information, daily_life, health, housekeeping, education, emergency |
| requests | requests of that category in the cell that day |
| filled | of which a carer accepted |
| fill_rate | filled / requests, three decimals |
| median_accept_s | median seconds from request to acceptance; -1 if none accepted |
| median_arrive_s | median seconds from request to the carer's arrival; -1 if nobody arrived |

## open-data.geojson, one feature per cell × day

The geometry is the cell's hexagon (WGS-84 longitude, latitude); the properties date, h3_cell, h3_res, requests, filled, fill_rate, median_accept_s and median_arrive_s mean the same as above over all categories, and requests_by_category gives the requests per category.
`
