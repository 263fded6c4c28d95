package wechat

import (
	"errors"
	"strconv"
)

// Observer is told what a Client does, for metrics. Its methods are called
// on the calling goroutine, after each event, and must be quick and safe
// for concurrent use. Nothing passed to them is secret.
type Observer interface {
	// WeChatCall reports one attempt of a call: WeChat's name for the API,
	// the bounded errcode label of the attempt's outcome (see ErrCodeLabel),
	// and whether the Client will retry it.
	WeChatCall(api, errcode string, retrying bool)
	// AccessTokenFetch reports one fetch of an access token from WeChat
	// (not a cache hit), and whether it succeeded.
	AccessTokenFetch(ok bool)
}

// documentedErrCodes are the errcodes WeChat documents for the APIs this
// package calls. Labelling by any other would let a misbehaving upstream
// create series without bound.
var documentedErrCodes = map[int]bool{
	-1: true, 40001: true, 40003: true, 40013: true, 40014: true, 40029: true, 40125: true,
	40163: true, 40226: true, 42001: true, 45009: true, 45011: true, 87008: true, 87009: true,
}

// ErrCodeLabel names the outcome of a call for a metric label: "0" for a
// success, the errcode for the ones WeChat documents, "other" for any
// other errcode or error, and "unavailable" when WeChat gave no usable
// answer (transport error, timeout, non-200 status, unreadable body).
func ErrCodeLabel(err error) string {
	if err == nil {
		return "0"
	}
	var we *Error
	if errors.As(err, &we) {
		if documentedErrCodes[we.ErrCode] {
			return strconv.Itoa(we.ErrCode)
		}
		return "other"
	}
	if Classify(err) == KindUnavailable {
		return "unavailable"
	}
	return "other"
}
