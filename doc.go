// Package wxlogin holds the domain of the wxlogin login server: apps, users,
// sessions and the principal a verified token stands for; the application
// error codes every layer speaks; and the store interfaces that backends
// implement.
//
// It depends on nothing but the standard library. Each subpackage owns one
// dependency: wxcrypt (WeChat's open-data crypto), wechat (WeChat's server
// APIs), emulator (WeChat itself, for tests and dev mode), auth (the use
// cases), httpapi (HTTP), and store/* (persistence).
package wxlogin
