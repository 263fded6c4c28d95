module github.com/wxlogin/wxlogin

go 1.26.8
