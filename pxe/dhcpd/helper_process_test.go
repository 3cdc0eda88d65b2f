package dhcpd_test

func runHelper() bool { return false }
