package wechat_test

import (
	"testing"

	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wechat/tokencachetest"
)

func TestMemoryTokenCacheConformance(t *testing.T) {
	t.Parallel()
	tokencachetest.Run(t, func(*testing.T) wechat.TokenCache { return &wechat.MemoryTokenCache{} })
}
