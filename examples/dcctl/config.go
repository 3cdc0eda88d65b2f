package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atoll-edge/atoll/dc/client"
)

// Names of the files the systemcontroller daemon writes in its data
// directory for dcctl to find.
const (
	urlFile   = "url"
	tokenFile = "token"
)

// endpoint is where the controller is and how to authenticate.
type endpoint struct {
	URL, Token string
	// From says where each value came from, for error messages.
	URLFrom, TokenFrom string
}

// resolve finds the URL and token: flags, then environment, then data
// directory files, in that order, each value on its own.
func resolve(flagURL, flagToken, flagDataDir string, getenv func(string) string) (endpoint, error) {
	var ep endpoint
	dataDir := flagDataDir
	if dataDir == "" {
		dataDir = getenv("ATOLL_DATA_DIR")
	}
	if dataDir == "" {
		dataDir = ".demo"
	}
	pick := func(flag, env, file string) (string, string, error) {
		if flag != "" {
			return flag, "flag", nil
		}
		if v := getenv(env); v != "" {
			return v, "$" + env, nil
		}
		p := filepath.Join(dataDir, file)
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", "", nil
			}
			return "", "", err
		}
		return strings.TrimSpace(string(b)), p, nil
	}
	var err error
	if ep.URL, ep.URLFrom, err = pick(flagURL, "ATOLL_URL", urlFile); err != nil {
		return ep, err
	}
	if ep.Token, ep.TokenFrom, err = pick(flagToken, "ATOLL_TOKEN", tokenFile); err != nil {
		return ep, err
	}
	if ep.URL == "" {
		return ep, fmt.Errorf("no controller URL: pass --url, set ATOLL_URL, or point --data-dir at the systemcontroller's data directory (looked in %s)", dataDir)
	}
	if ep.Token == "" {
		return ep, fmt.Errorf("no token: pass --token, set ATOLL_TOKEN, or point --data-dir at the systemcontroller's data directory (looked in %s)", dataDir)
	}
	return ep, nil
}

func newClient(ep endpoint, timeout time.Duration) (*client.Client, error) {
	return client.New(ep.URL, ep.Token, client.Options{
		HTTPClient: &http.Client{Timeout: timeout},
		UserAgent:  "dcctl",
	})
}
