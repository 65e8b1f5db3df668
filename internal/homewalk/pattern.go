package homewalk

import (
	"fmt"
	"path"
	"strings"
)

// pattern is one compiled exclude pattern (syntax in doc.go).
type pattern struct {
	text     string // as given, for messages and the manifest
	segs     []glob // one glob per path segment; a "**" glob spans segments
	anchored bool   // matched from the home root, not at any depth
	dirOnly  bool   // trailing '/': directories only
	deep     bool   // has a "**" segment, so the depth is not fixed
}

// compilePattern parses an exclude pattern and reports what to fix when it
// is malformed.
func compilePattern(text string) (pattern, error) {
	p := pattern{text: text}
	body, err := checkPatternText(text)
	if err != nil {
		return p, err
	}
	p.dirOnly = strings.HasSuffix(body, "/")
	body = strings.TrimRight(body, "/")
	p.anchored = strings.Contains(body, "/")
	body = strings.TrimLeft(body, "/")
	if body == "" {
		return p, fmt.Errorf("exclude pattern %q names no file: give a name or glob, e.g. %q", text, "*.tmp")
	}
	for _, seg := range strings.Split(body, "/") {
		g, err := compileSegment(text, seg)
		if err != nil {
			return p, err
		}
		p.deep = p.deep || g.kind == globAnyDepth
		p.segs = append(p.segs, g)
	}
	return p, nil
}

func checkPatternText(text string) (string, error) {
	switch {
	case text == "":
		return "", fmt.Errorf("empty exclude pattern: give a name or glob, e.g. %q", "*.tmp")
	case strings.HasPrefix(text, "!"):
		return "", fmt.Errorf("exclude pattern %q: negation with a leading '!' is not supported; to match a name that starts with '!', write %q", text, `\`+text)
	case strings.ContainsRune(text, 0):
		return "", fmt.Errorf("exclude pattern %q contains a NUL byte", text)
	}
	return text, nil
}

func compileSegment(text, seg string) (glob, error) {
	switch seg {
	case "":
		return glob{}, fmt.Errorf("exclude pattern %q has an empty path segment (\"//\"): remove the extra '/'", text)
	case ".", "..":
		return glob{}, fmt.Errorf("exclude pattern %q: %q segments are not allowed; patterns are relative to the home directory", text, seg)
	case "**":
		return glob{kind: globAnyDepth}, nil
	}
	pat := bracketNegation(seg)
	if _, err := path.Match(pat, ""); err != nil {
		return glob{}, fmt.Errorf("exclude pattern %q: malformed glob %q (check that every '[' has a closing ']' and no pattern ends in '\\'): %w", text, seg, err)
	}
	return classify(pat), nil
}

// bracketNegation rewrites the gitignore form "[!...]" to the "[^...]" that
// path.Match understands, leaving escaped characters alone.
func bracketNegation(seg string) string {
	if !strings.Contains(seg, "[!") {
		return seg
	}
	b := []byte(seg)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\\':
			i++
		case b[i] == '[' && i+1 < len(b) && b[i+1] == '!':
			b[i+1] = '^'
		}
	}
	return string(b)
}

// match reports whether the path given as segments (relative to the home
// root) matches the pattern itself; ancestors are the caller's business.
func (p *pattern) match(segs []string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	if !p.anchored {
		return p.segs[0].match(segs[len(segs)-1])
	}
	if !p.deep && len(segs) != len(p.segs) {
		return false
	}
	return matchSegments(p.segs, segs)
}

// matchSegments matches globs against path segments. "**" matches zero or
// more whole segments, or one or more when it is the last glob ("dir/**" is
// everything inside dir, not dir itself).
func matchSegments(globs []glob, segs []string) bool {
	for i, g := range globs {
		if g.kind == globAnyDepth {
			rest := globs[i+1:]
			if len(rest) == 0 {
				return len(segs) > i
			}
			for j := i; j <= len(segs); j++ {
				if matchSegments(rest, segs[j:]) {
					return true
				}
			}
			return false
		}
		if i >= len(segs) || !g.match(segs[i]) {
			return false
		}
	}
	return len(globs) == len(segs)
}

// globKind says how a segment glob is matched; the common shapes avoid
// path.Match, which matters when a directory has thousands of entries.
type globKind uint8

const (
	globPath     globKind = iota // general glob: path.Match
	globLiteral                  // no metacharacters: equality
	globPrefix                   // "lit*": prefix
	globSuffix                   // "*lit": suffix
	globAnyDepth                 // "**": any number of segments
)

// glob is one compiled path segment of a pattern.
type glob struct {
	kind globKind
	text string // the path.Match pattern, or the literal part
}

// classify picks the cheapest way to match a validated segment glob.
func classify(pat string) glob {
	const meta = `*?[\`
	switch {
	case !strings.ContainsAny(pat, meta):
		return glob{kind: globLiteral, text: pat}
	case strings.HasSuffix(pat, "*") && !strings.ContainsAny(pat[:len(pat)-1], meta):
		return glob{kind: globPrefix, text: pat[:len(pat)-1]}
	case strings.HasPrefix(pat, "*") && !strings.ContainsAny(pat[1:], meta):
		return glob{kind: globSuffix, text: pat[1:]}
	}
	return glob{kind: globPath, text: pat}
}

func (g glob) match(name string) bool {
	switch g.kind {
	case globLiteral:
		return name == g.text
	case globPrefix:
		return strings.HasPrefix(name, g.text)
	case globSuffix:
		return strings.HasSuffix(name, g.text)
	case globAnyDepth:
		return true
	}
	ok, _ := path.Match(g.text, name) // validated when compiled
	return ok
}
