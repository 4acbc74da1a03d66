package notify

// Channel lets the tests publish on a zone's channel as a stranger would.
var Channel = noticeChannel
