package mom

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	adminv1 "github.com/atlas-gateway/atlas/gen/atlas/admin/v1"
)

// maxSecretInput bounds how much of standard input `secrets set` reads; the
// server's own limit on a value is far lower.
const maxSecretInput = 1 << 20

func setSecret(ctx context.Context, s *adminSession, args []string) error {
	name := args[0]
	value, err := s.secretValue(name)
	if err != nil {
		return err
	}
	ctx, cancel := s.rpcContext(ctx)
	defer cancel()
	resp, err := s.secrets.SetSecret(ctx, &adminv1.SetSecretRequest{Name: name, Value: value})
	if err != nil {
		return s.rpcError(fmt.Sprintf("set secret %s", name), err)
	}
	if s.json() {
		return s.printJSON(resp)
	}
	if resp.GetCreated() {
		_, err = fmt.Fprintf(s.stdout, "Secret %s created (%d bytes). Reference it from an adapter header as ${{ secret:%s }}.\n", name, resp.GetSecret().GetSizeBytes(), name)
		return err
	}
	_, err = fmt.Fprintf(s.stdout, "Secret %s updated (%d bytes); adapters that reference it use the new value after the next reload.\n", name, resp.GetSecret().GetSizeBytes())
	return err
}

// secretValue reads the value from standard input, or asks for it without
// echo when standard input is a terminal. It removes one trailing newline
// and never quotes the value in an error.
func (s *adminSession) secretValue(name string) ([]byte, error) {
	var value []byte
	if f, ok := s.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(s.stderr, "Value of secret %s (input hidden): ", name)
		v, err := readHidden(f)
		fmt.Fprintln(s.stderr)
		if err != nil {
			return nil, fmt.Errorf("read the secret value from the terminal: %w", err)
		}
		value = v
	} else {
		v, err := io.ReadAll(io.LimitReader(s.stdin, maxSecretInput+1))
		if err != nil {
			return nil, fmt.Errorf("read the secret value from standard input: %w", err)
		}
		if len(v) > maxSecretInput {
			return nil, errors.New("standard input holds more than 1 MiB; pipe only the secret value into `mom atlas secrets set`")
		}
		value = v
	}
	value = stripNewline(value)
	switch {
	case len(value) == 0:
		return nil, fmt.Errorf("the value of secret %s is empty; pipe it on standard input, e.g. printf %%s \"$%s\" | mom atlas secrets set %s", name, name, name)
	case bytes.ContainsAny(value, "\r\n\x00"):
		return nil, errors.New("the secret value holds a line break or NUL character; a secret is one line (only one trailing newline is removed)")
	}
	return value, nil
}

// stripNewline removes one trailing "\n" or "\r\n".
func stripNewline(b []byte) []byte {
	if v, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		return bytes.TrimSuffix(v, []byte("\r"))
	}
	return b
}

// readLine reads up to a newline, which it keeps, or to the end of r.
func readLine(r io.Reader) ([]byte, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxSecretInput)).ReadBytes('\n')
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return line, err
}

func listSecrets(ctx context.Context, s *adminSession, _ []string) error {
	ctx, cancel := s.rpcContext(ctx)
	defer cancel()
	resp, err := s.secrets.ListSecrets(ctx, &adminv1.ListSecretsRequest{})
	if err != nil {
		return s.rpcError("list secrets", err)
	}
	if s.json() {
		return s.printJSON(resp)
	}
	if len(resp.GetSecrets()) == 0 {
		_, err := fmt.Fprintln(s.stdout, "No secrets. Set one with: mom atlas secrets set NAME < FILE")
		return err
	}
	var rows [][]string
	for _, m := range resp.GetSecrets() {
		rows = append(rows, []string{m.GetName(), fmt.Sprint(m.GetSizeBytes()), age(m.GetCreateTime()), age(m.GetUpdateTime())})
	}
	return table(s.stdout, "NAME\tBYTES\tCREATED\tUPDATED", rows)
}

func deleteSecret(ctx context.Context, s *adminSession, args []string) error {
	ctx, cancel := s.rpcContext(ctx)
	defer cancel()
	resp, err := s.secrets.DeleteSecret(ctx, &adminv1.DeleteSecretRequest{Name: args[0]})
	if err != nil {
		return s.rpcError(fmt.Sprintf("delete secret %s", args[0]), err)
	}
	if s.json() {
		return s.printJSON(resp)
	}
	_, err = fmt.Fprintf(s.stdout, "Secret %s deleted.\n", args[0])
	return err
}
