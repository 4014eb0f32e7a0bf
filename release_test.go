package main

// The tests in this file check .goreleaser.yaml and release.mk against each
// other and against the release contract in docs/install.md. GoReleaser is not
// installed on development machines or in CI, so these checks stand in for
// `goreleaser check` on the parts that this project relies on.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	goreleaserConfigPath = ".goreleaser.yaml"
	releaseMakefilePath  = "release.mk"
	releaseBinaryName    = "kube-sa-token"
)

// The linker's -X flag sets only package-level string variables, and it
// silently does nothing when the variable is missing. This declaration fails to
// compile when main.go renames version, commit or date or changes their type.
var _ = [...]*string{&version, &commit, &date}

// goreleaserConfig is the subset of the GoReleaser v2 schema that these tests
// read. Fields that the tests do not read are ignored while decoding.
type goreleaserConfig struct {
	Version       int                 `json:"version"`
	Builds        []goreleaserBuild   `json:"builds"`
	Archives      []goreleaserArchive `json:"archives"`
	Checksum      goreleaserChecksum  `json:"checksum"`
	Nfpms         []goreleaserNfpm    `json:"nfpms"`
	HomebrewCasks []goreleaserCask    `json:"homebrew_casks"`
}

type goreleaserBuild struct {
	ID      string             `json:"id"`
	Binary  string             `json:"binary"`
	Env     []string           `json:"env"`
	Flags   []string           `json:"flags"`
	Ldflags []string           `json:"ldflags"`
	Goos    []string           `json:"goos"`
	Goarch  []string           `json:"goarch"`
	Ignore  []goreleaserIgnore `json:"ignore"`
	Targets []string           `json:"targets"`
}

// goreleaserIgnore removes matching pairs from a build matrix. An empty field
// matches every value, as in GoReleaser's own matrix code.
type goreleaserIgnore struct {
	Goos   string `json:"goos"`
	Goarch string `json:"goarch"`
}

type goreleaserArchive struct {
	ID              string                     `json:"id"`
	Formats         []string                   `json:"formats"`
	FormatOverrides []goreleaserFormatOverride `json:"format_overrides"`
	Files           []goreleaserFile           `json:"files"`
}

type goreleaserFormatOverride struct {
	Goos    string   `json:"goos"`
	Formats []string `json:"formats"`
}

// goreleaserFile is an archive or package file entry. GoReleaser accepts either
// a bare glob or an object whose src field is the glob.
type goreleaserFile struct {
	Source string `json:"src"`
}

func (f *goreleaserFile) UnmarshalJSON(data []byte) error {
	if err := json.Unmarshal(data, &f.Source); err == nil {
		return nil
	}

	type fileObject goreleaserFile
	return json.Unmarshal(data, (*fileObject)(f))
}

type goreleaserChecksum struct {
	NameTemplate string `json:"name_template"`
	Algorithm    string `json:"algorithm"`
}

type goreleaserNfpm struct {
	ID          string           `json:"id"`
	Formats     []string         `json:"formats"`
	Bindir      string           `json:"bindir"`
	Maintainer  string           `json:"maintainer"`
	Description string           `json:"description"`
	License     string           `json:"license"`
	Homepage    string           `json:"homepage"`
	Contents    []goreleaserFile `json:"contents"`
}

type goreleaserCask struct {
	Name     string   `json:"name"`
	Binaries []string `json:"binaries"`
}

func loadGoreleaserConfig(t *testing.T) goreleaserConfig {
	t.Helper()

	data, err := os.ReadFile(goreleaserConfigPath)
	if err != nil {
		t.Fatalf("read release config: %v", err)
	}

	var config goreleaserConfig
	if err := yaml.Unmarshal(data, &config); err != nil {
		t.Fatalf("parse release config: %s: %v", goreleaserConfigPath, err)
	}
	return config
}

// releaseMatrix returns the GOOS/GOARCH pairs that GoReleaser builds, sorted.
// It rejects builds that GoReleaser would expand with defaults or `targets`,
// because release.mk cannot follow those without reimplementing GoReleaser.
//
// NOTE: GoReleaser also drops pairs that Go does not support, such as
// darwin/386. This function keeps them, so such a pair shows up as a mismatch.
func releaseMatrix(builds []goreleaserBuild) ([]string, error) {
	var pairs []string
	for _, build := range builds {
		if len(build.Targets) > 0 {
			return nil, fmt.Errorf("build %q: targets is set: list goos and goarch instead, "+
				"so release.mk can mirror the matrix", build.ID)
		}
		if len(build.Goos) == 0 || len(build.Goarch) == 0 {
			return nil, fmt.Errorf("build %q: goos or goarch is empty: list both explicitly "+
				"instead of relying on GoReleaser's defaults", build.ID)
		}

		for _, goos := range build.Goos {
			for _, goarch := range build.Goarch {
				if !isIgnoredPair(build.Ignore, goos, goarch) {
					pairs = append(pairs, goos+"/"+goarch)
				}
			}
		}
	}

	slices.Sort(pairs)
	return slices.Compact(pairs), nil
}

func isIgnoredPair(ignores []goreleaserIgnore, goos, goarch string) bool {
	for _, ignore := range ignores {
		if ignore.Goos != "" && ignore.Goos != goos {
			continue
		}
		if ignore.Goarch != "" && ignore.Goarch != goarch {
			continue
		}
		return true
	}
	return false
}

// makeVariable returns the value of a simple or recursive assignment to name
// in a makefile, with backslash-continued lines joined and comments removed.
// It fails unless the variable is assigned exactly once.
func makeVariable(makefile, name string) (string, error) {
	assignment := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `\s*(?::=|::=|\?=|=)(.*)$`)

	var values []string
	for line := range strings.SplitSeq(joinContinuedLines(makefile), "\n") {
		match := assignment.FindStringSubmatch(line)
		if match == nil {
			continue
		}
		value, _, _ := strings.Cut(match[1], "#")
		values = append(values, strings.TrimSpace(value))
	}

	if len(values) != 1 {
		return "", fmt.Errorf("variable %s: found %d assignments, expected exactly one", name, len(values))
	}
	return values[0], nil
}

// joinContinuedLines turns each line continued with a trailing backslash into
// one line, so a logical makefile line can be matched as a whole.
func joinContinuedLines(makefile string) string {
	return strings.ReplaceAll(makefile, "\\\n", " ")
}

func readReleaseMakefile(t *testing.T) string {
	t.Helper()

	data, err := os.ReadFile(releaseMakefilePath)
	if err != nil {
		t.Fatalf("read release makefile: %v", err)
	}
	return string(data)
}

// difference returns the elements of a that are not in b.
func difference(a, b []string) []string {
	var missing []string
	for _, element := range a {
		if !slices.Contains(b, element) {
			missing = append(missing, element)
		}
	}
	return missing
}

func TestReleaseMatrixMatchesCrossTargets(t *testing.T) {
	config := loadGoreleaserConfig(t)
	matrix, err := releaseMatrix(config.Builds)
	if err != nil {
		t.Fatalf("compute release matrix: %v", err)
	}
	if len(matrix) == 0 {
		t.Fatalf("release matrix of %s is empty: define at least one build", goreleaserConfigPath)
	}

	value, err := makeVariable(readReleaseMakefile(t), "CROSS_TARGETS")
	if err != nil {
		t.Fatalf("read CROSS_TARGETS from %s: %v", releaseMakefilePath, err)
	}
	crossTargets := strings.Fields(value)
	slices.Sort(crossTargets)

	if onlyGoreleaser := difference(matrix, crossTargets); len(onlyGoreleaser) > 0 {
		t.Errorf("targets built by %s but missing from CROSS_TARGETS in %s: %v",
			goreleaserConfigPath, releaseMakefilePath, onlyGoreleaser)
	}
	if onlyCross := difference(crossTargets, matrix); len(onlyCross) > 0 {
		t.Errorf("targets in CROSS_TARGETS in %s but not built by %s: %v",
			releaseMakefilePath, goreleaserConfigPath, onlyCross)
	}
	if duplicates := len(crossTargets) - len(slices.Compact(slices.Clone(crossTargets))); duplicates > 0 {
		t.Errorf("CROSS_TARGETS in %s lists %d target(s) twice: %v", releaseMakefilePath, duplicates, crossTargets)
	}
}

func TestReleaseMatrixIgnore(t *testing.T) {
	builds := []goreleaserBuild{{
		ID:     "test",
		Goos:   []string{"linux", "darwin", "windows"},
		Goarch: []string{"amd64", "arm64"},
		Ignore: []goreleaserIgnore{
			{Goos: "windows", Goarch: "arm64"},
			{Goos: "darwin"},
		},
	}}

	matrix, err := releaseMatrix(builds)
	if err != nil {
		t.Fatalf("compute release matrix: %v", err)
	}

	want := []string{"linux/amd64", "linux/arm64", "windows/amd64"}
	if !slices.Equal(matrix, want) {
		t.Errorf("release matrix = %v, want %v", matrix, want)
	}
}

func TestReleaseMatrixRejectsImplicitTargets(t *testing.T) {
	tests := []struct {
		name  string
		build goreleaserBuild
	}{
		{name: "targets", build: goreleaserBuild{ID: "t", Targets: []string{"linux_amd64_v1"}}},
		{name: "default goos", build: goreleaserBuild{ID: "t", Goarch: []string{"amd64"}}},
		{name: "default goarch", build: goreleaserBuild{ID: "t", Goos: []string{"linux"}}},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if _, err := releaseMatrix([]goreleaserBuild{test.build}); err == nil {
				t.Errorf("releaseMatrix(%+v) returned no error", test.build)
			}
		})
	}
}

func TestMakeVariable(t *testing.T) {
	tests := []struct {
		name     string
		makefile string
		want     string
		wantErr  bool
	}{
		{name: "simple", makefile: "CROSS_TARGETS := a/b c/d\n", want: "a/b c/d"},
		{name: "recursive", makefile: "CROSS_TARGETS = a/b\n", want: "a/b"},
		{name: "continued", makefile: "CROSS_TARGETS := a/b \\\n\tc/d\nOTHER := x\n", want: "a/b  \tc/d"},
		{name: "comment", makefile: "CROSS_TARGETS := a/b # linux only\n", want: "a/b"},
		{name: "prefix of other name", makefile: "CROSS_TARGETS_EXTRA := x\nCROSS_TARGETS := a/b\n", want: "a/b"},
		{name: "missing", makefile: "OTHER := x\n", wantErr: true},
		{name: "twice", makefile: "CROSS_TARGETS := a/b\nCROSS_TARGETS := c/d\n", wantErr: true},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := makeVariable(test.makefile, "CROSS_TARGETS")
			if test.wantErr {
				if err == nil {
					t.Errorf("makeVariable returned %q, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("makeVariable: %v", err)
			}
			if got != test.want {
				t.Errorf("makeVariable = %q, want %q", got, test.want)
			}
		})
	}
}

// requiredLdflags are the linker flags that both release paths must pass: -s -w
// strip the symbol table and DWARF data, and -X sets the values that
// `kube-sa-token version` prints.
var requiredLdflags = []string{"-s", "-w", "-X main.version=", "-X main.commit=", "-X main.date="}

// missingLdflags returns the entries of requiredLdflags that ldflags lacks.
// Entries with "=" are matched as prefixes of a "-X name=value" pair.
func missingLdflags(ldflags string) []string {
	fields := strings.Fields(ldflags)
	var pairs []string
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "-X" {
			pairs = append(pairs, "-X "+fields[i+1])
		}
	}

	var missing []string
	for _, flag := range requiredLdflags {
		found := false
		if strings.HasSuffix(flag, "=") {
			found = slices.ContainsFunc(pairs, func(pair string) bool { return strings.HasPrefix(pair, flag) })
		} else {
			found = slices.Contains(fields, flag)
		}
		if !found {
			missing = append(missing, flag)
		}
	}
	return missing
}

func TestReleaseBuildFlags(t *testing.T) {
	config := loadGoreleaserConfig(t)
	if len(config.Builds) == 0 {
		t.Fatalf("%s defines no builds", goreleaserConfigPath)
	}

	for _, build := range config.Builds {
		t.Run(build.ID, func(t *testing.T) {
			if build.Binary != releaseBinaryName {
				t.Errorf("binary = %q, want %q: the kubeconfig exec stanza in docs/install.md runs %s",
					build.Binary, releaseBinaryName, releaseBinaryName)
			}
			if !slices.Contains(build.Env, "CGO_ENABLED=0") {
				t.Errorf("env = %v, want it to contain CGO_ENABLED=0 for a static binary", build.Env)
			}
			if !slices.Contains(build.Flags, "-trimpath") {
				t.Errorf("flags = %v, want it to contain -trimpath", build.Flags)
			}

			ldflags := strings.Join(build.Ldflags, " ")
			if missing := missingLdflags(ldflags); len(missing) > 0 {
				t.Errorf("ldflags %q lack %v", ldflags, missing)
			}
			for _, want := range []string{
				"-X main.version={{.Version}}",
				"-X main.commit={{.Commit}}",
				"-X main.date={{.Date}}",
			} {
				if !strings.Contains(ldflags, want) {
					t.Errorf("ldflags %q lack %q", ldflags, want)
				}
			}
		})
	}
}

func TestCrossBuildFlags(t *testing.T) {
	makefile := readReleaseMakefile(t)

	ldflags, err := makeVariable(makefile, "CROSS_LDFLAGS")
	if err != nil {
		t.Fatalf("read CROSS_LDFLAGS from %s: %v", releaseMakefilePath, err)
	}
	if missing := missingLdflags(ldflags); len(missing) > 0 {
		t.Errorf("CROSS_LDFLAGS %q in %s lacks %v", ldflags, releaseMakefilePath, missing)
	}

	buildCommand, err := goBuildCommand(makefile)
	if err != nil {
		t.Fatalf("find the go build command in %s: %v", releaseMakefilePath, err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags '$(CROSS_LDFLAGS)'"} {
		if !strings.Contains(buildCommand, want) {
			t.Errorf("go build command in %s lacks %q: %s", releaseMakefilePath, want, buildCommand)
		}
	}
}

// goBuildCommand returns the one recipe line of a makefile that runs
// `$(GO) build`, with backslash-continued lines joined.
func goBuildCommand(makefile string) (string, error) {
	var commands []string
	for line := range strings.SplitSeq(joinContinuedLines(makefile), "\n") {
		if strings.HasPrefix(line, "\t") && strings.Contains(line, "$(GO) build") {
			commands = append(commands, line)
		}
	}

	if len(commands) != 1 {
		return "", fmt.Errorf("found %d recipe lines running $(GO) build, expected exactly one", len(commands))
	}
	return commands[0], nil
}

func TestMissingLdflags(t *testing.T) {
	tests := []struct {
		ldflags string
		want    []string
	}{
		{
			ldflags: "-s -w -X main.version=1 -X main.commit=abc -X main.date=now",
			want:    nil,
		},
		{
			ldflags: "-s -X main.version=1 -X main.date=now",
			want:    []string{"-w", "-X main.commit="},
		},
		{
			ldflags: "-s -w main.version=1 -X main.commit=abc -X main.date=now",
			want:    []string{"-X main.version="},
		},
		{
			ldflags: "",
			want:    requiredLdflags,
		},
	}

	for _, test := range tests {
		if got := missingLdflags(test.ldflags); !slices.Equal(got, test.want) {
			t.Errorf("missingLdflags(%q) = %v, want %v", test.ldflags, got, test.want)
		}
	}
}

func TestReleaseArchives(t *testing.T) {
	config := loadGoreleaserConfig(t)
	if len(config.Archives) == 0 {
		t.Fatalf("%s defines no archives", goreleaserConfigPath)
	}

	for _, archive := range config.Archives {
		t.Run(archive.ID, func(t *testing.T) {
			if !slices.Equal(archive.Formats, []string{"tar.gz"}) {
				t.Errorf("formats = %v, want [tar.gz]", archive.Formats)
			}

			windowsFormats, found := windowsArchiveFormats(archive.FormatOverrides)
			if !found {
				t.Errorf("format_overrides has no entry for goos windows: add one with formats [zip]")
			} else if !slices.Equal(windowsFormats, []string{"zip"}) {
				t.Errorf("windows format override = %v, want [zip]", windowsFormats)
			}

			var sources []string
			for _, file := range archive.Files {
				sources = append(sources, file.Source)
			}
			for _, want := range []string{"README.md", "LICENSE"} {
				if !slices.Contains(sources, want) {
					t.Errorf("files = %v, want it to contain %s", sources, want)
				}
			}
			checkFilesExist(t, archive.Files)
		})
	}
}

func windowsArchiveFormats(overrides []goreleaserFormatOverride) ([]string, bool) {
	for _, override := range overrides {
		if override.Goos == "windows" {
			return override.Formats, true
		}
	}
	return nil, false
}

// checkFilesExist fails for each file entry whose glob matches nothing. For
// archives GoReleaser only logs a warning and ships the archive without the
// file, which is why the check lives here.
func checkFilesExist(t *testing.T, files []goreleaserFile) {
	t.Helper()

	for _, file := range files {
		matches, err := filepath.Glob(file.Source)
		if err != nil {
			t.Errorf("invalid file pattern: %q: %v", file.Source, err)
			continue
		}
		if len(matches) == 0 {
			t.Errorf("file pattern %q matches no file in the repository root: "+
				"add the file or remove the entry", file.Source)
		}
	}
}

func TestReleaseLinuxPackages(t *testing.T) {
	config := loadGoreleaserConfig(t)
	if len(config.Nfpms) == 0 {
		t.Fatalf("%s defines no nfpms (deb and rpm packages)", goreleaserConfigPath)
	}

	license, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatalf("read LICENSE: %v", err)
	}

	for _, nfpm := range config.Nfpms {
		t.Run(nfpm.ID, func(t *testing.T) {
			for _, format := range []string{"deb", "rpm"} {
				if !slices.Contains(nfpm.Formats, format) {
					t.Errorf("formats = %v, want it to contain %s", nfpm.Formats, format)
				}
			}
			if nfpm.Bindir != "/usr/bin" {
				t.Errorf("bindir = %q, want /usr/bin", nfpm.Bindir)
			}

			metadata := map[string]string{
				"maintainer":  nfpm.Maintainer,
				"description": nfpm.Description,
				"license":     nfpm.License,
				"homepage":    nfpm.Homepage,
			}
			for field, value := range metadata {
				if strings.TrimSpace(value) == "" {
					t.Errorf("%s is empty: set it, because the deb and rpm package metadata shows it", field)
				}
			}

			if nfpm.License != "Apache-2.0" {
				t.Errorf("license = %q, want Apache-2.0 (SPDX id of the text in LICENSE)", nfpm.License)
			}
			if !strings.Contains(string(license), "Apache License\n                           Version 2.0") {
				t.Errorf("LICENSE does not contain the Apache License 2.0 text that license %q declares",
					nfpm.License)
			}

			checkFilesExist(t, nfpm.Contents)
		})
	}
}

func TestReleaseChecksumAndCask(t *testing.T) {
	config := loadGoreleaserConfig(t)

	// docs/install.md names this file in its download verification steps.
	if config.Checksum.NameTemplate != "checksums.txt" {
		t.Errorf("checksum name_template = %q, want checksums.txt", config.Checksum.NameTemplate)
	}
	if config.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum algorithm = %q, want sha256 (docs/install.md uses sha256sum)",
			config.Checksum.Algorithm)
	}

	if len(config.HomebrewCasks) == 0 {
		t.Fatalf("%s defines no homebrew_casks", goreleaserConfigPath)
	}
	for _, cask := range config.HomebrewCasks {
		if !slices.Equal(cask.Binaries, []string{releaseBinaryName}) {
			t.Errorf("homebrew cask %q: binaries = %v, want [%s]", cask.Name, cask.Binaries, releaseBinaryName)
		}
	}
}

// deprecatedReleaseFields maps a path in the release config to the field that
// replaces it in GoReleaser v2. "[]" stands for every element of a list.
var deprecatedReleaseFields = map[string]string{
	"brews":                                "homebrew_casks (brews is deprecated since v2.10)",
	"brew":                                 "homebrew_casks (brew was removed before v2)",
	"archive":                              "archives (archive was removed before v2)",
	"build":                                "builds (build was removed before v2)",
	"nfpm":                                 "nfpms (nfpm was removed before v2)",
	"archives[].format":                    "archives[].formats (since v2.6)",
	"archives[].builds":                    "archives[].ids (since v2.8)",
	"archives[].format_overrides[].format": "archives[].format_overrides[].formats (since v2.6)",
	"nfpms[].builds":                       "nfpms[].ids (since v2.8)",
	"homebrew_casks[].binary":              "homebrew_casks[].binaries (since v2.12.6)",
	"homebrew_casks[].manpage":             "homebrew_casks[].manpages (since v2.11)",
	"snapshot.name_template":               "snapshot.version_template (since v2.2)",
}

// configPaths returns every key path in a decoded YAML document, with "[]" for
// list elements, e.g. "archives[].format_overrides[].goos".
func configPaths(prefix string, node any) []string {
	var paths []string
	switch value := node.(type) {
	case map[string]any:
		for key, child := range value {
			path := key
			if prefix != "" {
				path = prefix + "." + key
			}
			paths = append(paths, path)
			paths = append(paths, configPaths(path, child)...)
		}
	case []any:
		for _, child := range value {
			paths = append(paths, configPaths(prefix+"[]", child)...)
		}
	}
	return paths
}

func TestReleaseConfigSchemaVersion(t *testing.T) {
	config := loadGoreleaserConfig(t)
	if config.Version != 2 {
		t.Errorf("version = %d, want 2, the schema version that GoReleaser v2 expects", config.Version)
	}

	data, err := os.ReadFile(goreleaserConfigPath)
	if err != nil {
		t.Fatalf("read release config: %v", err)
	}
	var document map[string]any
	if err := yaml.Unmarshal(data, &document); err != nil {
		t.Fatalf("parse release config: %s: %v", goreleaserConfigPath, err)
	}

	paths := configPaths("", document)
	slices.Sort(paths)
	for _, path := range slices.Compact(paths) {
		if replacement, deprecated := deprecatedReleaseFields[path]; deprecated {
			t.Errorf("%s uses %s: use %s", goreleaserConfigPath, path, replacement)
		}
	}
}

func TestConfigPaths(t *testing.T) {
	document := map[string]any{
		"archives": []any{
			map[string]any{"format": "zip", "format_overrides": []any{map[string]any{"goos": "windows"}}},
		},
	}

	got := configPaths("", document)
	slices.Sort(got)
	want := []string{
		"archives",
		"archives[].format",
		"archives[].format_overrides",
		"archives[].format_overrides[].goos",
	}
	if !slices.Equal(got, want) {
		t.Errorf("configPaths = %v, want %v", got, want)
	}
}
