package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"bbvault/test/servers"
)

// machine describes where the run happened: what the figures depend on.
func machine(ctx context.Context, bbvault string) map[string]any {
	m := map[string]any{"cpus": runtime.NumCPU(), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
		"load_avg": loadAvg(), "mem_total": memTotal(), "kernel": kernel()}
	versions := map[string]string{}
	restic18, _ := servers.FindGoBinary(servers.Restic18) // "" reports unavailable
	for name, args := range map[string][]string{
		"bbvault": {bbvault, "--version"}, "restic": {"restic", "version"}, "restic18": {restic18, "version"},
		"git": {"git", "--version"}, "pg_dump": {"pg_dump", "--version"}, "rsync": {"rsync", "--version"},
		"curl": {"curl", "--version"}, "tar": {"tar", "--version"},
	} {
		versions[name] = commandVersion(ctx, args)
	}
	m["versions"] = versions
	m["git_head"] = commandVersion(ctx, []string{"git", "rev-parse", "HEAD"})
	m["git_changed_files"] = changedFiles(ctx)
	return m
}

// commandVersion is the first line a version command prints.
func commandVersion(ctx context.Context, args []string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).Output()
	if err != nil {
		return "unavailable: " + err.Error()
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.Join(strings.Fields(line)[1:], " ")
}

func kernel() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	b := make([]byte, 0, len(u.Release))
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// changedFiles counts the files `git status` reports as changed in the
// tree the benchmark runs from (the bbvault measured may include them).
func changedFiles(ctx context.Context) int {
	out, err := exec.CommandContext(ctx, "git", "status", "--porcelain").Output()
	if err != nil {
		return -1
	}
	return strings.Count(string(out), "\n")
}
