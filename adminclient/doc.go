// Package adminclient is a typed Go client of wxlogin's admin API
// (/v1/admin/): find users (by openid, unionid, a WeCom member's corpid
// and userid, or the account of a person), read a user, list and end
// their sessions, erase a user or every identity of a person, list the
// webhook outbox and redeliver one delivery, read an app's cached WeChat
// access token, re-seal stored keys under the primary master key.
//
// It is a package of its own, beside guard rather than in it, because it
// holds the admin token: a backend that only needs to know who its users
// are imports guard and never links code that can erase them, and a
// tool that administers users needs none of guard's middleware.
//
//	c, err := adminclient.New(adminclient.Config{
//		URL:   "http://127.0.0.1:8080",
//		Token: wxlogin.Secret(os.Getenv("WXLOGIN_ADMIN_TOKEN")),
//	})
//	users, err := c.FindUsers(ctx, wxlogin.UserFilter{UnionID: unionid})
//	for _, u := range users {
//		err = c.RevokeSessions(ctx, u.ID)
//	}
//
// Errors the server answers are *wxlogin.Error values with the server's
// code and message, so errors.Is(err, wxlogin.ErrNotFound) tells a user
// who does not exist. A server started without an admin token answers
// every admin route not_found, as if the routes did not exist.
package adminclient
