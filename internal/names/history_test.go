package names

import "testing"

func TestHistoryFileName(t *testing.T) {
	cases := []struct{ typ, id, run, file string }{
		{"RunbookWorkflow", "runbook:restart-deployment:prod/checkout", "01a2296e-1380-7288", "RunbookWorkflow@runbook%3Arestart-deployment%3Aprod%2Fcheckout@01a2296e.json"},
		{"GameDayWorkflow", "gameday:chaos-tuesday:scheduled-2026-11-29T22:28:58Z", "01a2", "GameDayWorkflow@gameday%3Achaos-tuesday%3Ascheduled-2026-11-29T22%3A28%3A58Z@01a2.json"},
	}
	for _, c := range cases {
		if got := HistoryFileName(c.typ, c.id, c.run); got != c.file {
			t.Errorf("HistoryFileName(%q) = %q, want %q", c.id, got, c.file)
		}
		if got := HistoryWorkflowID("testdata/TestX-" + c.file); got != c.id {
			t.Errorf("HistoryWorkflowID(%q) = %q, want %q", c.file, got, c.id)
		}
	}
	if got := HistoryWorkflowID("old-name.json"); got != "" {
		t.Errorf("a name without an ID gave %q", got)
	}
}
