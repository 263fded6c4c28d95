package wxlogin

// App is a mini program the server serves: its appid and the secret WeChat
// issued for it.
type App struct {
	AppID  string
	Secret Secret
}
