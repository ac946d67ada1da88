//go:build !race

package staffweb_test

const raceBuild = false
