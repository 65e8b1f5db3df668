package relocate

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// propLine is one logical line of a properties file: one natural line, or
// several joined by a trailing backslash.
type propLine struct {
	raw   []byte // its bytes, line terminators included
	key   string // unescaped; "" for comments and blank lines
	value string // unescaped
}

// parseProperties splits data into logical lines. Concatenating the raw
// bytes of the result gives data back exactly.
func parseProperties(data []byte) []propLine {
	var out []propLine
	for len(data) > 0 {
		n := logicalLineLen(data)
		l := propLine{raw: data[:n]}
		l.key, l.value = keyValue(l.raw)
		out = append(out, l)
		data = data[n:]
	}
	return out
}

// logicalLineLen is the length of the logical line at the start of data,
// its terminator included. A comment line never continues.
func logicalLineLen(data []byte) int {
	comment := isComment(data)
	n := 0
	for {
		end, body := naturalLine(data[n:])
		n += end
		if comment || !continues(body) || n == len(data) {
			return n
		}
	}
}

// naturalLine returns the length of the first natural line of data with its
// terminator (\n, \r or \r\n), and its body without the terminator.
func naturalLine(data []byte) (int, []byte) {
	i := bytes.IndexAny(data, "\r\n")
	if i < 0 {
		return len(data), data
	}
	if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
		return i + 2, data[:i]
	}
	return i + 1, data[:i]
}

// isComment reports whether a line is a comment: its first non-blank
// character is # or !.
func isComment(line []byte) bool {
	t := bytes.TrimLeft(line, " \t\f")
	return len(t) > 0 && (t[0] == '#' || t[0] == '!')
}

// continues reports whether a line body ends in an odd number of
// backslashes, which joins the next line to it.
func continues(body []byte) bool {
	n := 0
	for i := len(body) - 1; i >= 0 && body[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// keyValue unescapes the key and value of a logical line; "" for comments
// and blank lines.
func keyValue(raw []byte) (string, string) {
	if isComment(raw) {
		return "", ""
	}
	s := joinContinuations(raw)
	s = strings.TrimLeft(s, " \t\f")
	if s == "" {
		return "", ""
	}
	end := keyEnd(s)
	key, rest := s[:end], strings.TrimLeft(s[end:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return unescape(key), unescape(rest)
}

// joinContinuations removes line terminators, the backslash before each
// and the leading blanks of each continued line.
func joinContinuations(raw []byte) string {
	var b strings.Builder
	for len(raw) > 0 {
		end, body := naturalLine(raw)
		if continues(body) {
			body = body[:len(body)-1]
		}
		b.Write(body)
		raw = raw[end:]
		raw = bytes.TrimLeft(raw, " \t\f")
	}
	return b.String()
}

// keyEnd is where the key ends: the first unescaped '=', ':' or blank.
func keyEnd(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=', ':', ' ', '\t', '\f':
			return i
		}
	}
	return len(s)
}

// unescape resolves Java properties escapes: \t \n \r \f, \uXXXX, and a
// backslash before any other character stands for that character.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, n := unicodeEscape(s[i+1:])
			b.WriteRune(r)
			i += n
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// unicodeEscape reads the four hex digits of \uXXXX.
func unicodeEscape(s string) (rune, int) {
	if len(s) < 4 {
		return utf8.RuneError, 0
	}
	r, err := strconv.ParseUint(s[:4], 16, 32)
	if err != nil {
		return utf8.RuneError, 0
	}
	return rune(r), 4
}

// escapeValue writes a value so that Java reads it back unchanged, in
// ASCII (Bitbucket reads the file as ISO-8859-1): backslashes, control
// characters, a leading blank and everything beyond ASCII are escaped.
func escapeValue(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == ' ' && i == 0:
			b.WriteString(`\ `)
		case r < 0x20 || r > 0x7e:
			writeUnicodeEscape(&b, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeUnicodeEscape writes r as \uXXXX, as a surrogate pair beyond the
// basic plane.
func writeUnicodeEscape(b *strings.Builder, r rune) {
	if r > 0xffff {
		r -= 0x10000
		fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		return
	}
	fmt.Fprintf(b, `\u%04x`, r)
}

// terminator is the line ending a line uses, "\n" when it has none.
func terminator(raw []byte) string {
	switch {
	case bytes.HasSuffix(raw, []byte("\r\n")):
		return "\r\n"
	case bytes.HasSuffix(raw, []byte("\r")):
		return "\r"
	}
	return "\n"
}

// commentedOut turns every natural line of raw into a comment, keeping the
// line endings; a missing final terminator becomes eol.
func commentedOut(raw []byte, eol string) []byte {
	var out []byte
	for len(raw) > 0 {
		end, body := naturalLine(raw)
		term := raw[len(body):end]
		if len(term) == 0 {
			term = []byte(eol)
		}
		out = append(append(append(out, '#'), body...), term...)
		raw = raw[end:]
	}
	return out
}
