package receiver

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSFromFiles returns the STARTTLS configuration for a certificate and key
// in PEM files. The files are read again when either changes (checked at
// most once a minute), so a renewed certificate is served without a
// restart; a renewal that does not load keeps the previous pair.
func TLSFromFiles(certFile, keyFile string) (*tls.Config, error) {
	l := &certLoader{certFile: certFile, keyFile: keyFile}
	if err := l.load(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return l.get(), nil },
	}, nil
}

type certLoader struct {
	certFile, keyFile string

	mu       sync.Mutex
	cert     *tls.Certificate
	modTimes [2]time.Time
	checked  time.Time
}

func (l *certLoader) stat() ([2]time.Time, error) {
	var out [2]time.Time
	for i, f := range []string{l.certFile, l.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return out, err
		}
		out[i] = fi.ModTime()
	}
	return out, nil
}

func (l *certLoader) load() error {
	mt, err := l.stat()
	if err != nil {
		return fmt.Errorf("receiver certificate: %w", err)
	}
	c, err := tls.LoadX509KeyPair(l.certFile, l.keyFile)
	if err != nil {
		return fmt.Errorf("receiver certificate %s, key %s: %w", l.certFile, l.keyFile, err)
	}
	l.mu.Lock()
	l.cert, l.modTimes, l.checked = &c, mt, time.Now()
	l.mu.Unlock()
	return nil
}

func (l *certLoader) get() *tls.Certificate {
	l.mu.Lock()
	due := time.Since(l.checked) >= time.Minute
	if due {
		l.checked = time.Now()
	}
	cert, old := l.cert, l.modTimes
	l.mu.Unlock()
	if due {
		if mt, err := l.stat(); err == nil && mt != old {
			_ = l.load()
			l.mu.Lock()
			cert = l.cert
			l.mu.Unlock()
		}
	}
	return cert
}
