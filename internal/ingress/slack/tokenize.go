package slack

import (
	"fmt"
	"strings"
	"unicode"
)

// closers maps each opening quote to the quotes that close it. Slack
// clients often turn typed quotes into typographic ones, so those work too.
var closers = map[rune]string{
	'"':      `"`,
	'\'':     `'`,
	'\u201c': "\u201d\"", // “ … ” (or ")
	'\u2018': "\u2019'",  // ‘ … ’ (or ')
}

// tokenize splits a command line the way a shell would, near enough for
// chat: spaces separate words; "double" and 'single' quotes group words,
// at the start of a word or right after = (so k="a b" and 'x y' work, and
// the apostrophe in don't is just a letter); a backslash escapes the next
// character outside single quotes. An unterminated quote is an error.
func tokenize(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\\':
			inWord = true
			if i+1 < len(rs) {
				i++
				cur.WriteRune(rs[i])
			} else {
				cur.WriteRune(r)
			}
		case closers[r] != "" && (!inWord || strings.HasSuffix(cur.String(), "=")):
			end := closers[r]
			literal := r == '\'' || r == '\u2018'
			j := i + 1
			closed := false
			for ; j < len(rs); j++ {
				c := rs[j]
				if strings.ContainsRune(end, c) {
					closed = true
					break
				}
				if c == '\\' && !literal && j+1 < len(rs) {
					j++
					c = rs[j]
				}
				cur.WriteRune(c)
			}
			if !closed {
				return nil, fmt.Errorf("unterminated quote: %c without its closing %c", r, []rune(end)[0])
			}
			i = j
			inWord = true
		default:
			inWord = true
			cur.WriteRune(r)
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// unescapeSlack undoes the HTML escaping Slack applies to command text.
func unescapeSlack(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
