package slack

import (
	"reflect"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "", want: nil},
		{in: "   \t ", want: nil},
		{in: "run hello-world", want: []string{"run", "hello-world"}},
		{in: "  run   hello-world  ", want: []string{"run", "hello-world"}},
		{in: `run hw name="value with spaces" times=5`, want: []string{"run", "hw", "name=value with spaces", "times=5"}},
		{in: `run hw name='single "quoted"'`, want: []string{"run", "hw", `name=single "quoted"`}},
		{in: `'single quoted' "double quoted"`, want: []string{"single quoted", "double quoted"}},
		{in: `"k=v w"`, want: []string{"k=v w"}},
		{in: `k=""`, want: []string{"k="}},
		{in: `""`, want: []string{""}},
		{in: `a "" b`, want: []string{"a", "", "b"}},
		{in: `k="say \"hi\" \\ there"`, want: []string{`k=say "hi" \ there`}},
		{in: `k='no \escapes'`, want: []string{`k=no \escapes`}},
		{in: `a\ b c`, want: []string{"a b", "c"}},
		{in: `trailing\`, want: []string{`trailing\`}},
		{in: "deny id step don't do it", want: []string{"deny", "id", "step", "don't", "do", "it"}},
		{in: `k=“smart quotes” j=‘single smart’`, want: []string{"k=smart quotes", "j=single smart"}},
		{in: `k=“mixed"`, want: []string{"k=mixed"}},
		{in: "a\nb", want: []string{"a", "b"}},
		{in: `name="ops`, err: "unterminated quote: \" without its closing \""},
		{in: `'open`, err: "unterminated quote: ' without its closing '"},
		{in: `k=“open`, err: "unterminated quote"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := tokenize(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %q, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzTokenize: the command-line splitter never panics, and its words
// hold no unquoted separators it should have split on.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{`run hello-world name="on call" times=5`, `approve r1 confirm 'looks safe'`, `run x k="unterminated`, `“curly” quotes`, `a&amp;b &lt;c&gt;`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := tokenize(s)
		if err != nil {
			return
		}
		for _, w := range words {
			if w == "" && !strings.Contains(s, `""`) && !strings.Contains(s, `''`) && !strings.ContainsAny(s, "“”‘’") {
				t.Fatalf("%q gave an empty word: %q", s, words)
			}
		}
	})
}
