// Package loadgen drives load at a wxlogin server and its WeChat emulator
// and measures it beside a baseline in the same run: logins against the
// emulator round trip every backend must make (wx.login plus one
// jscode2session), verifications (GET /v1/auth) against a bare net/http
// handler that answers as /v1/auth does. Rounds alternate which side goes
// first, because on a shared machine two runs one after the other see
// different machines; the ratio reported is the median of the rounds'
// ratios. Against a cluster, logins at the load balancer can be measured
// against logins at one instance (Config.BaselineAPIURL), and
// MeasureRevocation times a logout at one instance until the others refuse
// the token. The verify-sessions workloads measure forward-auth at a server
// holding many sessions against one holding few, with tokens the caller
// made and drew beforehand (uniformly or with a Zipf popularity). It is the
// engine of `wxlogin bench`.
package loadgen
