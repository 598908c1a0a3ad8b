// Command testcert mints a test CA and a server certificate signed by it,
// as PEM files, for real daemons in the end-to-end tests (Postfix, nginx):
//
//	go run ./internal/testbed/cmd/testcert -dir /tmp/tls -name mx.postfix.test
//
// writes ca.pem (the root, for the exporter's ca_file), cert.pem (the
// server certificate, then its chain) and key.pem (its PKCS #8 key).
// Nothing it mints is trusted by anything but what is handed ca.pem.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

func main() {
	dir := flag.String("dir", ".", "directory to write ca.pem, cert.pem and key.pem into")
	names := flag.String("name", "mx.postfix.test", "comma-separated DNS names of the server certificate")
	key := flag.String("key", string(testbed.ECDSAP256), "key type: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-1024, ed25519")
	intermediate := flag.Bool("intermediate", true, "sign through an intermediate CA (served in cert.pem)")
	flag.Parse()
	if err := run(*dir, strings.Split(*names, ","), testbed.KeyType(*key), *intermediate); err != nil {
		fmt.Fprintln(os.Stderr, "testcert:", err)
		os.Exit(1)
	}
}

func run(dir string, names []string, key testbed.KeyType, intermediate bool) error {
	root, err := testbed.NewCA("deliverability_exporter test root")
	if err != nil {
		return err
	}
	issuer := root
	if intermediate {
		if issuer, err = root.NewIntermediate("deliverability_exporter test intermediate", testbed.CertOptions{}); err != nil {
			return err
		}
	}
	cert, err := issuer.Issue(testbed.CertOptions{DNSNames: names, Key: key})
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return err
	}
	var chain []byte
	for _, c := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"ca.pem":   root.PEM,
		"cert.pem": chain,
		"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
	} {
		mode := os.FileMode(0o644)
		if name == "key.pem" {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %s/{ca,cert,key}.pem for %s\n", dir, strings.Join(names, ", "))
	return nil
}
