package experiments

import "testing"

func TestBuiltin(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 2 || len(c.GameDays()) != 1 {
		t.Fatalf("catalog has %d experiments, %d game days", c.Len(), len(c.GameDays()))
	}
	p, _ := c.Get("pod-kill-checkout")
	t.Logf("%s", p.Spec)
}
