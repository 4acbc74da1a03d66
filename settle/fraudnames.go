package settle

import "github.com/carehex/carehex"

// The Chinese names of the fraud hold reasons (carehex.FraudHold) on the
// exports, beside holdNames.
var fraudSignalNames = map[string]string{
	carehex.SignalImpossibleTravel:     "疑似异常：行程速度不可能",
	carehex.SignalRepeatedGPS:          "疑似异常：多次定位完全相同",
	carehex.SignalCarerHoursOverCap:    "疑似异常：护理员当日时长超上限",
	carehex.SignalResidentHoursOverCap: "疑似异常：老人当日服务时长超上限",
	carehex.SignalNoMovement:           "疑似异常：两次签到间未移动",
	carehex.SignalSharedPhoto:          "疑似异常：照片与其他服务相同",
}

func init() {
	for s, name := range fraudSignalNames {
		holdNames[carehex.FraudHoldPrefix+s] = name
	}
}
