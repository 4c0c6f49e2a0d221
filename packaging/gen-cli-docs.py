#!/usr/bin/env python3
"""Generate tiercel(1) and the bash completion from the binary's own --help output.

The command tree is discovered by walking CLI11's "Subcommands:" sections recursively
(`tiercel --help`, `tiercel pool --help`, `tiercel pool create --help`, ...), so the man page and the
completion can never fall behind the binary: the package build runs this against the binary it just built.

    gen-cli-docs.py --binary build/tiercel --man tiercel.1 --completion tiercel
    gen-cli-docs.py --binary build/tiercel --list        # one command path per line, for tests

Python 3 standard library only. Exits non-zero (failing the package build) when any --help call fails or prints
something that is not CLI11 help.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys

HELP_TIMEOUT_S = 20
MAX_DEPTH = 6  # a deeper tree than this means the parser is looping

# "Options:", "Subcommands:", "Positionals:", or an option group's own title ("Pool options:").
SECTION_RE = re.compile(r"^(\S[^:]*):$")
GROUP_RE = re.compile(r"^\[Option Group: (.+)\]$")
# An entry: two-space indent, the name column (single spaces allowed inside it), then two or more spaces and the text.
ENTRY_RE = re.compile(r"^  (\S(?:\S| (?! ))*)(?: {2,}(\S.*))?$")
# Value placeholders CLI11 prints after an option's names: TEXT, INT, UINT, FLOAT, FILE, DIR, PATH, ENUM, [a,b], ...
FILE_TYPES = {"FILE", "DIR", "PATH", "TEXT", "EXISTING_FILE", "EXISTING_DIR", "EXISTING_PATH"}


class HelpError(Exception):
    pass


class Entry:
    def __init__(self, name, text):
        self.name = name
        self.text = text


class Command:
    """One node of the command tree, parsed from its --help text."""

    def __init__(self, path):
        self.path = path              # [] for the top level, ["pool", "create"] below it
        self.description = []         # lines before "Usage:"
        self.usage = ""
        self.sections = []            # [(title, [Entry])]
        self.footer = []              # paragraphs (lists of lines) after the last section
        self.children = []

    @property
    def full_name(self):
        return " ".join(["tiercel"] + self.path)

    def section(self, title):
        for name, entries in self.sections:
            if name == title:
                return entries
        return []

    def option_entries(self):
        return [e for title, entries in self.sections if title != "Subcommands" for e in entries
                if e.name.startswith("-")]


def run_help(binary, path):
    argv = [binary] + path + ["--help"]
    env = dict(os.environ, COLUMNS="200", LC_ALL="C.UTF-8")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=HELP_TIMEOUT_S, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HelpError(f"{' '.join(argv)}: {exc}") from exc
    if done.returncode != 0:
        raise HelpError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    if "Usage:" not in done.stdout:
        raise HelpError(f"{' '.join(argv)} printed no 'Usage:' line")
    return done.stdout


def parse_help(text, path):
    command = Command(path)
    lines = text.rstrip("\n").split("\n")
    i = 0
    while i < len(lines) and not lines[i].startswith("Usage:"):
        command.description.append(lines[i].rstrip())
        i += 1
    while command.description and not command.description[-1]:
        command.description.pop()
    if i == len(lines):
        raise HelpError(f"{command.full_name} --help: no 'Usage:' line")
    command.usage = lines[i][len("Usage:"):].strip()
    i += 1

    # The rest, line by line: a "Title:" line opens a section of indented entries ("  NAME   TEXT", wrapped text
    # indented further); "[Option Group: NAME]" opens a group whose own description is skipped and whose entries sit
    # two columns deeper; any other unindented line is footer text (blank lines separate its paragraphs).
    section = None
    paragraph = None
    indent = 2
    group_preamble = False
    for raw in lines[i:]:
        line = raw.rstrip()
        if not line.strip():
            section = paragraph = None
            continue
        if not line.startswith(" "):
            group = GROUP_RE.match(line)
            header = SECTION_RE.match(line)
            if group or header:
                section = ((group or header).group(1), [])
                command.sections.append(section)
                paragraph = None
                indent = 2
                group_preamble = bool(group)
                continue
            section = None
            if paragraph is None:
                paragraph = []
                command.footer.append(paragraph)
            paragraph.append(line)
            continue
        if section is None:
            if paragraph is None:
                raise HelpError(f"{command.full_name} --help: cannot place line {line!r}")
            paragraph.append(line)
            continue
        if group_preamble:
            if SECTION_RE.match(line.strip()):
                group_preamble = False
                indent = len(line) - len(line.lstrip()) + 2
            continue
        body = line[indent - 2:]
        match = ENTRY_RE.match(body)
        entries = section[1]
        if match and not body.startswith("   "):
            entries.append(Entry(match.group(1), match.group(2) or ""))
        elif entries:  # a wrapped description, or the text of a name too long for its column
            entries[-1].text = (entries[-1].text + " " + line.strip()).strip()
        else:
            raise HelpError(f"{command.full_name} --help: cannot parse line {line!r}")
    command.sections = [(title, entries) for title, entries in command.sections if entries]
    return command


def subcommand_names(command):
    names = []
    for entry in command.section("Subcommands"):
        name = entry.name.split()[0]
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise HelpError(f"{command.full_name} --help: odd subcommand name {name!r}")
        names.append(name)
    return names


def walk(binary, path=None):
    path = path or []
    if len(path) > MAX_DEPTH:
        raise HelpError(f"command tree deeper than {MAX_DEPTH} at {' '.join(path)}")
    command = parse_help(run_help(binary, path), path)
    for name in subcommand_names(command):
        command.children.append(walk(binary, path + [name]))
    return command


def all_commands(root):
    yield root
    for child in root.children:
        yield from all_commands(child)


def option_names(entry):
    """'-c,--config TEXT' -> (['-c', '--config'], 'TEXT', []); '--mode TEXT:{a,b}' -> (['--mode'], 'TEXT', ['a', 'b']).

    The value kind is None for a flag, "file" when the value is a path (or free text, which usually is one)."""
    head, _, rest = entry.name.partition(" ")
    names = [n for n in head.split(",") if n.startswith("-")]
    words = rest.split()
    if not words or words[0] in ("REQUIRED", "Excludes:", "Needs:"):
        return names, None, []
    parts = words[0].split(":")
    choices = []
    for part in parts[1:]:
        if part.startswith("{") and part.endswith("}"):
            choices = [c for c in part[1:-1].split(",") if c]
    if choices:
        return names, "choice", choices
    if any(p in FILE_TYPES for p in parts):
        return names, "file", []
    return names, "value", []


# ----------------------------------------------------------------------------------------------------- man page --

def roff_escape(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = text.replace("`", "\\(ga").replace("'", "\\(aq")
    return text


def roff_line(text):
    """One input line of running text; a leading '.' or quote would be read as a request."""
    escaped = roff_escape(text)
    if escaped.startswith(".") or escaped.startswith("\\(aq"):
        escaped = "\\&" + escaped
    return escaped


def roff_paragraph(lines):
    out = []
    for line in lines:
        if line.strip():
            out.append(roff_line(line.strip()))
    return out


def render_entries(entries):
    out = []
    for entry in entries:
        out.append(".TP")
        out.append("\\fB" + roff_escape(entry.name) + "\\fR")
        out.append(roff_line(entry.text) if entry.text else "\\&")
    return out


def render_command(command, heading, inherited_footer=()):
    out = []
    if heading:
        out.append(f'.SS "{roff_escape(command.full_name)}"')
    if command.description:
        out.append(".PP")
        out += roff_paragraph(command.description)
    out.append(".PP")
    out.append("Usage: \\fB" + roff_escape(command.usage) + "\\fR")
    for title, entries in command.sections:
        if not entries:
            continue
        out.append(".PP")
        out.append("Commands:" if title == "Subcommands" else roff_escape(title) + ":")
        out.append(".RS")
        out += render_entries(entries)
        out.append(".RE")
    for block in command.footer:
        if block in inherited_footer:  # CLI11 repeats the parent's footer under every subcommand
            continue
        out.append(".PP")
        out += roff_paragraph(block)
    return out


def render_man(root, version, date):
    summary = root.description[0].strip() if root.description else "Tiercel"
    if summary.lower().startswith("tiercel:"):
        summary = summary.split(":", 1)[1].strip()
    summary = summary.rstrip(".")
    commands = list(all_commands(root))
    exit_status = [b for b in root.footer if b[0].startswith("Exit codes:")]
    out = [
        f'.\\" Generated by packaging/gen-cli-docs.py from the --help output of {version}; do not edit.',
        f'.TH TIERCEL 1 "{date}" "{roff_escape(version)}" "User Commands"',
        ".nh",
        ".ad l",
        ".SH NAME",
        "tiercel \\- " + roff_escape(summary[:1].lower() + summary[1:]),
        ".SH SYNOPSIS",
    ]
    for index, command in enumerate(c for c in commands if c is root or not c.children):
        rest = command.usage
        if rest.startswith(command.full_name):
            rest = rest[len(command.full_name):].strip()
        if index:
            out.append(".br")
        out.append("\\fB" + roff_escape(command.full_name) + "\\fR " + roff_escape(rest))
    out.append(".SH DESCRIPTION")
    out += render_command(root, heading=False, inherited_footer=exit_status)
    if len(commands) > 1:
        out.append(".SH COMMANDS")
        for command in commands[1:]:
            out += render_command(command, heading=True, inherited_footer=root.footer)
    if exit_status:
        out.append(".SH EXIT STATUS")
        for block in exit_status:
            out += roff_paragraph(block)
    out += [
        ".SH ENVIRONMENT",
        ".TP",
        "\\fBTIERCEL_CONFIG\\fR",
        "The config file to read when \\fB\\-c\\fR/\\fB\\-\\-config\\fR is not given.",
        ".SH FILES",
        ".TP",
        "\\fI/etc/tiercel/tiercel.toml\\fR",
        "The configuration; every key is listed there with its default. Check edits with "
        "\\fBtiercel check\\-config\\fR.",
        ".TP",
        "\\fI/var/lib/tiercel/\\fR",
        "The daemon's state directory (mode 0700): the API token \\fIapi.token\\fR, the CLI socket "
        "\\fIapi.sock\\fR, catalogs and audit logs.",
        ".TP",
        "\\fI/lib/systemd/system/tiercel.service\\fR",
        "The systemd unit that runs \\fBtiercel serve\\fR.",
        ".SH SEE ALSO",
        "\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), \\fBfusermount3\\fR(1), \\fBfanotify\\fR(7)",
        ".PP",
        "/usr/share/doc/tiercel/",
    ]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------------- completion --

def shell_words(words):
    for word in words:
        if not re.fullmatch(r"[A-Za-z0-9_.,:/=+@%-]+", word):
            raise HelpError(f"cannot put {word!r} into the completion script")
    return " ".join(words)


def render_completion(root, version):
    """A static completion script: one case arm per command path with its subcommands, its options, the options
    that take a value (they swallow the next word), which of those take a path, and the choices of enum options."""
    cases_subs, cases_opts, cases_vals, cases_choices = [], [], [], []
    for command in all_commands(root):
        key = " ".join(command.path)
        opts, valued, files = [], [], []
        for entry in command.option_entries():
            names, kind, choices = option_names(entry)
            opts += names
            if kind:
                valued += names
            if kind == "file":
                files += names
            if choices:
                cases_choices.append(f'        "{key}|{names[-1]}"' +
                                     "".join(f'|"{key}|{n}"' for n in names[:-1]) +
                                     f') choices="{shell_words(choices)}" ;;')
        subs = [c.path[-1] for c in command.children]
        cases_subs.append(f'        "{key}") subs="{shell_words(subs)}" ;;')
        cases_opts.append(f'        "{key}") opts="{shell_words(opts)}" ;;')
        cases_vals.append(f'        "{key}") valued="{shell_words(valued)}"; files="{shell_words(files)}" ;;')
    nl = "\n"
    return f"""# bash completion for {version}
# Generated by packaging/gen-cli-docs.py from the --help output of every subcommand; do not edit.
# shellcheck shell=bash

_tiercel_subcommands() {{
    case "$1" in
{nl.join(cases_subs)}
        *) subs="" ;;
    esac
}}

_tiercel_options() {{
    case "$1" in
{nl.join(cases_opts)}
        *) opts="" ;;
    esac
}}

_tiercel_valued() {{
    case "$1" in
{nl.join(cases_vals)}
        *) valued=""; files="" ;;
    esac
}}

_tiercel_choices() {{
    case "$1|$2" in
{nl.join(cases_choices)}
        *) choices="" ;;
    esac
}}

_tiercel() {{
    local cur prev path="" word i subs opts valued files choices
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev=""
    (( COMP_CWORD > 0 )) && prev="${{COMP_WORDS[COMP_CWORD-1]}}"

    # Walk the words before the cursor: subcommand names extend the path, an option that takes a value
    # swallows the next word.
    i=1
    while (( i < COMP_CWORD )); do
        word="${{COMP_WORDS[i]}}"
        _tiercel_valued "$path"
        if [[ " $valued " == *" $word "* ]]; then
            (( i += 2 ))
            continue
        fi
        _tiercel_subcommands "$path"
        if [[ "$word" != -* && " $subs " == *" $word "* ]]; then
            path="${{path:+$path }}$word"
        fi
        (( i += 1 ))
    done

    _tiercel_valued "$path"
    if [[ -n "$prev" && " $valued " == *" $prev "* ]]; then
        _tiercel_choices "$path" "$prev"
        if [[ -n "$choices" ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
        elif [[ " $files " == *" $prev "* ]]; then
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        else
            COMPREPLY=()
        fi
        return 0
    fi

    if [[ "$cur" == -* ]]; then
        _tiercel_options "$path"
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
        return 0
    fi
    _tiercel_subcommands "$path"
    if [[ -n "$subs" ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
    else
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
}}

complete -F _tiercel tiercel
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="the tiercel binary to ask")
    parser.add_argument("--man", help="write the man page here")
    parser.add_argument("--completion", help="write the bash completion here")
    parser.add_argument("--list", action="store_true", help="print every command path, one a line")
    parser.add_argument("--date", help="date in the man page header (default: SOURCE_DATE_EPOCH, else today)")
    args = parser.parse_args()

    try:
        done = subprocess.run([args.binary, "--version"], capture_output=True, text=True, timeout=HELP_TIMEOUT_S)
        version = done.stdout.strip() or done.stderr.strip()
        if done.returncode != 0 or not version:
            raise HelpError(f"{args.binary} --version failed: {done.stderr.strip()}")
        root = walk(args.binary)
    except HelpError as exc:
        print(f"gen-cli-docs: {exc}", file=sys.stderr)
        return 1

    if args.date:
        date = args.date
    elif os.environ.get("SOURCE_DATE_EPOCH"):
        stamp = int(os.environ["SOURCE_DATE_EPOCH"])
        date = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime("%Y-%m-%d")
    else:
        date = datetime.date.today().isoformat()

    if args.list:
        for command in all_commands(root):
            print(" ".join(command.path))
    try:
        if args.man:
            with open(args.man, "w", encoding="utf-8") as out:
                out.write(render_man(root, version, date))
        if args.completion:
            with open(args.completion, "w", encoding="utf-8") as out:
                out.write(render_completion(root, version))
    except HelpError as exc:
        print(f"gen-cli-docs: {exc}", file=sys.stderr)
        return 1
    count = sum(1 for _ in all_commands(root)) - 1
    if args.man or args.completion:
        print(f"gen-cli-docs: {version}: {count} subcommands documented", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
