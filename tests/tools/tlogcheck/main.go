// Command tlogcheck is an independent verifier for Castellan's tamper-evident
// log. It checks C2SP signed-note checkpoints (c2sp.org/tlog-checkpoint),
// tlog-cosignature/v1 Ed25519 witness lines (type 0x04) and RFC 6962
// inclusion and consistency proofs (c2sp.org/tlog-proof@v1, tlog-witness
// add-checkpoint bodies). It shares no code with the C implementation: it
// uses only the Go standard library and golang.org/x/mod/sumdb/{note,tlog}
// (Debian 12 golang-golang-x-mod-dev 0.7.0). It must never exit 0 for input
// it has not fully verified.
//
// Usage (tlogcheck.py implements the same contract):
//
//	tlogcheck note [--text] VKEY_FILE NOTE_FILE
//	    stdout: "origin size roothex"; --text: only the signed-note layer is
//	    checked and the verified note text is written verbatim.
//	tlogcheck inclusion VKEY_FILE PROOF_FILE LEAF_FILE
//	    stdout: "origin size roothex index"
//	tlogcheck consistency VKEY_FILE OLD_NOTE NEW_NOTE|- PROOF_FILE
//	    stdout: "origin oldsize newsize newroothex"
//	tlogcheck cosig WITNESS_VKEY_FILE NOTE_FILE
//	    stdout: the cosignature timestamp (decimal)
//
// Exit status: 0 verified; 1 verification failed (one line on stderr);
// 2 bad usage, unreadable file or malformed vkey.
//
// Conventions checked against RFC 6962 and the transparency-dev vectors:
// tlog.RecordProof and tlog.TreeProof are in RFC 6962 PATH/SUBPROOF order
// (element 0 is nearest the leaf, the last is a child of the root), so proof
// lines are passed through unchanged. tlog differs from RFC 6962 only at size
// 0 (TreeHash(0) is all zeros, CheckTree rejects an old size of 0); this tool
// requires the RFC root SHA-256("") for size 0 and treats the empty tree as a
// prefix of every tree, provided the proof is empty.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	maxTextFile = 1 << 20   // notes, proofs, vkeys: larger input is rejected
	maxLeafFile = 256 << 20 // raw leaf bytes
	maxProof    = 64        // hash lines; tlog rejects any surplus anyway
	cosigHeader = "cosignature/v1\ntime %d\n"
)

// exitError carries the exit status: 1 = not verified, 2 = usage.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func failf(f string, a ...interface{}) error  { return &exitError{1, fmt.Sprintf(f, a...)} }
func usagef(f string, a ...interface{}) error { return &exitError{2, fmt.Sprintf(f, a...)} }

const usage = `usage: tlogcheck note [--text] VKEY_FILE NOTE_FILE
       tlogcheck inclusion VKEY_FILE PROOF_FILE LEAF_FILE
       tlogcheck consistency VKEY_FILE OLD_NOTE NEW_NOTE|- PROOF_FILE
       tlogcheck cosig WITNESS_VKEY_FILE NOTE_FILE`

func main() {
	out, err := run(os.Args[1:])
	if err != nil {
		code, msg := 1, err.Error()
		var e *exitError
		if errors.As(err, &e) {
			code = e.code
		}
		if code == 1 { // the reason for a failed verification is one line
			msg = strings.ReplaceAll(msg, "\n", " ")
		}
		fmt.Fprintf(os.Stderr, "tlogcheck: %s\n", msg)
		os.Exit(code)
	}
	fmt.Print(out)
}

// run dispatches a subcommand and returns what to print on success.
func run(args []string) (string, error) {
	if len(args) == 0 {
		return "", usagef("%s", usage)
	}
	cmd, args := args[0], args[1:]
	switch {
	case cmd == "note" && len(args) == 3 && args[0] == "--text":
		return cmdNote(args[1], args[2], true)
	case cmd == "note" && len(args) == 2:
		return cmdNote(args[0], args[1], false)
	case cmd == "inclusion" && len(args) == 3:
		return cmdInclusion(args[0], args[1], args[2])
	case cmd == "consistency" && len(args) == 4:
		return cmdConsistency(args[0], args[1], args[2], args[3])
	case cmd == "cosig" && len(args) == 2:
		return cmdCosig(args[0], args[1])
	}
	return "", usagef("%s", usage)
}

// readFile returns the whole file; unreadable is a usage error (2),
// larger than limit is a verification failure (1).
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("%v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	if int64(len(b)) > limit {
		return nil, failf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// readVkey returns the vkey string in path, surrounding ASCII whitespace removed.
func readVkey(path string) (string, error) {
	b, err := readFile(path, maxTextFile)
	if err != nil {
		return "", err
	}
	return strings.Trim(string(b), " \t\r\n"), nil
}

// parseDecimal accepts canonical ASCII decimal (no sign, no leading zeros) <= 2^63-1.
func parseDecimal(s string) (int64, error) {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad decimal %q", s)
	}
	return strconv.ParseInt(s, 10, 64)
}

// parseHash accepts only canonical padded standard base64 of exactly 32 bytes.
func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tlog.HashSize || base64.StdEncoding.EncodeToString(b) != s {
		return h, fmt.Errorf("bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

// parseHashes parses hash lines, at most maxProof of them.
func parseHashes(lines []string) ([]tlog.Hash, error) {
	if len(lines) > maxProof {
		return nil, fmt.Errorf("proof has %d hashes, more than %d", len(lines), maxProof)
	}
	hs := make([]tlog.Hash, 0, len(lines))
	for _, l := range lines {
		h, err := parseHash(l)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	return hs, nil
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// parseCheckpoint parses a verified note text as a tlog-checkpoint body:
// origin, size, root, then optional extension lines; no line may be empty.
// tlog.ParseTree cannot be used: it only accepts go.sum database trees.
func parseCheckpoint(text string) (checkpoint, error) {
	var c checkpoint
	if !strings.HasSuffix(text, "\n") {
		return c, errors.New("checkpoint does not end in newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return c, errors.New("checkpoint has fewer than 3 lines")
	}
	for _, l := range lines {
		if l == "" {
			return c, errors.New("checkpoint has an empty line")
		}
	}
	var err error
	c.origin = lines[0]
	if c.size, err = parseDecimal(lines[1]); err != nil {
		return c, fmt.Errorf("checkpoint size: %v", err)
	}
	if c.root, err = parseHash(lines[2]); err != nil {
		return c, fmt.Errorf("checkpoint root: %v", err)
	}
	if c.size == 0 && c.root != sha256.Sum256(nil) {
		return c, errors.New("size-0 checkpoint root is not SHA-256(\"\")")
	}
	return c, nil
}

// openNote verifies msg as a signed note with the log vkey: a known-key
// signature that fails, or no verified known-key signature, is a failure.
func openNote(vkey string, msg []byte) (*note.Note, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, usagef("vkey: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, failf("note: %v", err)
	}
	return n, nil
}

// openCheckpoint verifies msg with vkey and parses it as a checkpoint.
func openCheckpoint(vkey string, msg []byte) (checkpoint, error) {
	n, err := openNote(vkey, msg)
	if err != nil {
		return checkpoint{}, err
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return c, failf("%v", err)
	}
	return c, nil
}

func cmdNote(vkeyFile, noteFile string, textOnly bool) (string, error) {
	vkey, err := readVkey(vkeyFile)
	if err != nil {
		return "", err
	}
	msg, err := readFile(noteFile, maxTextFile)
	if err != nil {
		return "", err
	}
	if textOnly {
		n, err := openNote(vkey, msg)
		if err != nil {
			return "", err
		}
		return n.Text, nil
	}
	c, err := openCheckpoint(vkey, msg)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %d %x\n", c.origin, c.size, c.root[:]), nil
}

// splitBlock splits data at its first empty line into the header lines
// (none of them empty) and the bytes that follow (a signed note).
func splitBlock(data []byte) ([]string, []byte, error) {
	i := bytes.Index(data, []byte("\n\n"))
	if i < 0 {
		return nil, nil, errors.New("no empty line before the checkpoint")
	}
	return strings.Split(string(data[:i]), "\n"), data[i+2:], nil
}

func cmdInclusion(vkeyFile, proofFile, leafFile string) (string, error) {
	vkey, err := readVkey(vkeyFile)
	if err != nil {
		return "", err
	}
	data, err := readFile(proofFile, maxTextFile)
	if err != nil {
		return "", err
	}
	leaf, err := readFile(leafFile, maxLeafFile)
	if err != nil {
		return "", err
	}
	lines, msg, err := splitBlock(data)
	if err != nil {
		return "", failf("tlog-proof: %v", err)
	}
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		return "", failf("tlog-proof: bad first line %q", lines[0])
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		// Opaque and unauthenticated: only its encoding is checked.
		if _, err := base64.StdEncoding.Strict().DecodeString(lines[0][6:]); err != nil || len(lines[0]) == 6 {
			return "", failf("tlog-proof: bad extra line")
		}
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return "", failf("tlog-proof: missing index line")
	}
	index, err := parseDecimal(lines[0][6:])
	if err != nil {
		return "", failf("tlog-proof: index: %v", err)
	}
	proof, err := parseHashes(lines[1:])
	if err != nil {
		return "", failf("tlog-proof: %v", err)
	}
	c, err := openCheckpoint(vkey, msg)
	if err != nil {
		return "", err
	}
	if index >= c.size {
		return "", failf("index %d is not below tree size %d", index, c.size)
	}
	// RecordHash is SHA-256(0x00 || leaf); proof order is already RFC 6962 PATH.
	if err := tlog.CheckRecord(proof, c.size, c.root, index, tlog.RecordHash(leaf)); err != nil {
		return "", failf("inclusion: %v", err)
	}
	return fmt.Sprintf("%s %d %x %d\n", c.origin, c.size, c.root[:], index), nil
}

func cmdConsistency(vkeyFile, oldFile, newFile, proofFile string) (string, error) {
	vkey, err := readVkey(vkeyFile)
	if err != nil {
		return "", err
	}
	oldMsg, err := readFile(oldFile, maxTextFile)
	if err != nil {
		return "", err
	}
	data, err := readFile(proofFile, maxTextFile)
	if err != nil {
		return "", err
	}
	var newMsg []byte
	if newFile != "-" {
		if newMsg, err = readFile(newFile, maxTextFile); err != nil {
			return "", err
		}
	}
	old, err := openCheckpoint(vkey, oldMsg)
	if err != nil {
		return "", err
	}
	var cur checkpoint
	var proof []tlog.Hash
	if bytes.HasPrefix(data, []byte("old ")) {
		// tlog-witness add-checkpoint body: "old N", proof lines, "", checkpoint.
		lines, msg, err := splitBlock(data)
		if err != nil {
			return "", failf("add-checkpoint: %v", err)
		}
		n, err := parseDecimal(lines[0][4:])
		if err != nil || n != old.size {
			return "", failf("add-checkpoint: %q does not name OLD_NOTE's size %d", lines[0], old.size)
		}
		if proof, err = parseHashes(lines[1:]); err != nil {
			return "", failf("add-checkpoint: %v", err)
		}
		if cur, err = openCheckpoint(vkey, msg); err != nil {
			return "", err
		}
		if newMsg != nil {
			given, err := openCheckpoint(vkey, newMsg)
			if err != nil {
				return "", err
			}
			if given != cur {
				return "", failf("NEW_NOTE differs from the checkpoint in PROOF_FILE")
			}
		}
	} else {
		if newMsg == nil {
			return "", usagef("NEW_NOTE may be - only with an add-checkpoint PROOF_FILE")
		}
		var lines []string
		if s := strings.TrimSuffix(string(data), "\n"); s != "" {
			lines = strings.Split(s, "\n")
		}
		if proof, err = parseHashes(lines); err != nil {
			return "", failf("proof: %v", err)
		}
		if cur, err = openCheckpoint(vkey, newMsg); err != nil {
			return "", err
		}
	}
	if old.origin != cur.origin {
		return "", failf("origins differ: %q vs %q", old.origin, cur.origin)
	}
	if old.size > cur.size {
		return "", failf("old size %d is larger than new size %d", old.size, cur.size)
	}
	if old.size == 0 {
		// The empty tree is a prefix of every tree; tlog.CheckTree rejects size 0.
		if len(proof) != 0 {
			return "", failf("consistency: non-empty proof from the empty tree")
		}
	} else if err := tlog.CheckTree(proof, cur.size, cur.root, old.size, old.root); err != nil {
		return "", failf("consistency: %v", err)
	}
	return fmt.Sprintf("%s %d %d %x\n", cur.origin, old.size, cur.size, cur.root[:]), nil
}

// cosigVerifier is a note.Verifier for tlog-cosignature/v1 Ed25519 (type
// 0x04), which x/mod 0.7.0 does not know. sig = u64 BE timestamp || 64-byte
// Ed25519 signature over "cosignature/v1\ntime T\n" || note text.
type cosigVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
	time uint64 // set by a successful Verify
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > math.MaxInt64 {
		return false
	}
	m := append([]byte(fmt.Sprintf(cosigHeader, t)), msg...)
	if !ed25519.Verify(v.pub, m, sig[8:]) {
		return false
	}
	v.time = t
	return true
}

// parseCosigVkey parses "name+hexid+base64(0x04 || pub)" and checks the key ID.
func parseCosigVkey(vkey string) (*cosigVerifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 || parts[0] == "" || !utf8.ValidString(parts[0]) ||
		strings.IndexFunc(parts[0], unicode.IsSpace) >= 0 || len(parts[1]) != 8 {
		return nil, errors.New("malformed witness vkey")
	}
	id, err1 := hex.DecodeString(parts[1])
	key, err2 := base64.StdEncoding.Strict().DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(key) != 1+ed25519.PublicKeySize || key[0] != 0x04 {
		return nil, errors.New("witness vkey is not a type-0x04 Ed25519 key")
	}
	sum := sha256.Sum256(append([]byte(parts[0]+"\n"), key...))
	if !bytes.Equal(sum[:4], id) {
		return nil, errors.New("witness vkey key ID does not match its key")
	}
	return &cosigVerifier{name: parts[0], hash: binary.BigEndian.Uint32(id), pub: key[1:]}, nil
}

func cmdCosig(vkeyFile, noteFile string) (string, error) {
	vkey, err := readVkey(vkeyFile)
	if err != nil {
		return "", err
	}
	msg, err := readFile(noteFile, maxTextFile)
	if err != nil {
		return "", err
	}
	v, err := parseCosigVkey(vkey)
	if err != nil {
		return "", usagef("%v", err)
	}
	// note.Open ignores other signers' lines and fails on a bad line from v.
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return "", failf("cosignature: %v", err)
	}
	if _, err := parseCheckpoint(n.Text); err != nil {
		return "", failf("cosigned %v", err)
	}
	return fmt.Sprintf("%d\n", v.time), nil
}
