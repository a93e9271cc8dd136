// SPDX-License-Identifier: MIT
#include "completions.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "agent_config.h"

static const char *const commands[] = {"record", "dump", "top", "agent", "completions"};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Flags whose value is a pid, a file or a format: completed specially. */
static bool is_pid_flag(const char *name)
{
	return !strcmp(name, "pid") || !strcmp(name, "exclude-pid");
}

/* Flags whose value is a file (--output, --config, --ca-file, --*-file) or
 * a directory (--spool-dir). */
static bool is_file_flag(const char *name)
{
	size_t n = strlen(name);

	return !strcmp(name, "output") || !strcmp(name, "config") || !strcmp(name, "ca-file") ||
	       (n > 5 && !strcmp(name + n - 5, "-file"));
}

static bool is_dir_flag(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, "-dir");
}

/* The short option for a long one, or 0. */
static int short_of(const struct option *o)
{
	return o->val > 0 && o->val < 128 ? o->val : 0;
}

/* Python processes' pids, for -p: every process whose command name starts
 * with "python" (uwsgi and other embedders are still typed by hand). */
#define PYTHON_PIDS "ps -eo pid=,comm= | awk '$2 ~ /^python/ {print $1}'"

/* "--a -x --b ..." for bash's word list. */
static void write_flag_words(FILE *out, const struct option *o)
{
	for (size_t i = 0; o[i].name; i++) {
		fprintf(out, "%s--%s", i ? " " : "", o[i].name);
		if (short_of(&o[i]))
			fprintf(out, " -%c", short_of(&o[i]));
	}
}

/* The formats -f takes, separated by spaces. */
static void write_formats(FILE *out)
{
	for (size_t i = 0; cli_format_name_at(i); i++)
		fprintf(out, "%s%s", i ? " " : "", cli_format_name_at(i));
}

static void write_bash(FILE *out)
{
	fputs("# pyebpf bash completion: eval \"$(pyebpf completions bash)\"\n"
	      "_pyebpf() {\n"
	      "\tlocal cur prev\n"
	      "\tcur=${COMP_WORDS[COMP_CWORD]}\n"
	      "\tprev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tcase $prev in\n"
	      "\t-p|--pid|--exclude-pid)\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$(" PYTHON_PIDS ")\" -- \"$cur\")); return;;\n"
	      "\t-o|--output|--config|--ca-file|--*-file)\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\")); return;;\n"
	      "\t--*-dir)\n"
	      "\t\tCOMPREPLY=($(compgen -d -- \"$cur\")); return;;\n"
	      "\t-f|--format)\n"
	      "\t\tCOMPREPLY=($(compgen -W \"",
	      out);
	write_formats(out);
	fputs("\" -- \"$cur\")); return;;\n"
	      "\tcompletions)\n"
	      "\t\tCOMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\")); return;;\n"
	      "\tesac\n"
	      "\tif [ \"$COMP_CWORD\" -eq 1 ] && [[ $cur != -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"",
	      out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "%s%s", i ? " " : "", commands[i]);
	fputs("\" -- \"$cur\")); return\n"
	      "\tfi\n"
	      "\tif [ \"${COMP_WORDS[1]}\" = agent ]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"",
	      out);
	write_flag_words(out, agent_config__long_options());
	fputs("\" -- \"$cur\")); return\n"
	      "\tfi\n"
	      "\tCOMPREPLY=($(compgen -W \"",
	      out);
	write_flag_words(out, cli_long_options());
	fputs("\" -- \"$cur\"))\n"
	      "}\n"
	      "complete -F _pyebpf pyebpf\n",
	      out);
}

/* One _arguments spec per flag; `repeat`: flags with a value may be given
 * again (the agent's lists). */
static void write_zsh_specs(FILE *out, const struct option *o, bool repeat)
{
	for (size_t i = 0; o[i].name; i++) {
		const char *again = repeat && o[i].has_arg == required_argument ? "*" : "";

		if (short_of(&o[i]))
			fprintf(out, "\t\t'(-%c --%s)'{-%c,--%s}'[%s]", short_of(&o[i]), o[i].name,
				short_of(&o[i]), o[i].name, o[i].name);
		else
			fprintf(out, "\t\t'%s--%s[%s]", again, o[i].name, o[i].name);
		if (o[i].has_arg != required_argument) {
			/* a flag, or a boolean whose value is optional */
		} else if (is_pid_flag(o[i].name)) {
			fputs(":pid:_pyebpf_pids", out);
		} else if (is_file_flag(o[i].name)) {
			fputs(":file:_files", out);
		} else if (is_dir_flag(o[i].name)) {
			fputs(":directory:_files -/", out);
		} else if (!strcmp(o[i].name, "format")) {
			fputs(":format:(", out);
			write_formats(out);
			fputc(')', out);
		} else {
			fputs(":value: ", out);
		}
		fputs("'\n", out);
	}
}

static void write_zsh(FILE *out)
{
	fputs("#compdef pyebpf\n"
	      "# pyebpf zsh completion: pyebpf completions zsh > \"${fpath[1]}/_pyebpf\"\n"
	      "_pyebpf_pids() {\n"
	      "\tlocal -a pids\n"
	      "\tpids=(${(f)\"$(" PYTHON_PIDS ")\"})\n"
	      "\t_describe 'Python process' pids\n"
	      "}\n"
	      "_pyebpf() {\n"
	      "\tlocal -a args\n"
	      "\tif (( CURRENT > 2 )) && [[ $words[2] == agent ]]; then\n"
	      "\t\tshift words\n"
	      "\t\t(( CURRENT-- ))\n"
	      "\t\targs=(\n",
	      out);
	write_zsh_specs(out, agent_config__long_options(), true);
	fputs("\t\t)\n"
	      "\t\t_arguments -s $args\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\targs=(\n"
	      "\t\t'1:command:(",
	      out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "%s%s", i ? " " : "", commands[i]);
	fputs(")'\n", out);
	write_zsh_specs(out, cli_long_options(), false);
	fputs("\t)\n"
	      "\t_arguments -s $args\n"
	      "}\n"
	      "_pyebpf \"$@\"\n",
	      out);
}

/* One `complete` line per flag, under condition `cond`. */
static void write_fish_flags(FILE *out, const struct option *o, const char *cond)
{
	for (size_t i = 0; o[i].name; i++) {
		fprintf(out, "complete -c pyebpf -n '%s' -l %s", cond, o[i].name);
		if (short_of(&o[i]))
			fprintf(out, " -s %c", short_of(&o[i]));
		if (o[i].has_arg != required_argument)
			; /* a flag, or a boolean whose value is optional */
		else if (is_pid_flag(o[i].name))
			fputs(" -x -a \"(" PYTHON_PIDS ")\"", out);
		else if (is_file_flag(o[i].name))
			fputs(" -r -F", out);
		else if (is_dir_flag(o[i].name))
			fputs(" -x -a '(__fish_complete_directories)'", out);
		else if (!strcmp(o[i].name, "format")) {
			fputs(" -x -a '", out);
			write_formats(out);
			fputc('\'', out);
		} else
			fputs(" -x", out);
		fputc('\n', out);
	}
}

static void write_fish(FILE *out)
{
	fputs("# pyebpf fish completion: pyebpf completions fish > "
	      "~/.config/fish/completions/pyebpf.fish\n"
	      "complete -c pyebpf -f\n",
	      out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "complete -c pyebpf -n __fish_use_subcommand -a %s\n", commands[i]);
	fputs("complete -c pyebpf -n '__fish_seen_subcommand_from completions' -a 'bash zsh "
	      "fish'\n",
	      out);
	write_fish_flags(out, cli_long_options(), "not __fish_seen_subcommand_from agent");
	write_fish_flags(out, agent_config__long_options(), "__fish_seen_subcommand_from agent");
}

int completions_write(enum cli_shell shell, FILE *out)
{
	switch (shell) {
	case SHELL_BASH:
		write_bash(out);
		break;
	case SHELL_ZSH:
		write_zsh(out);
		break;
	case SHELL_FISH:
		write_fish(out);
		break;
	}
	return fflush(out) || ferror(out) ? -EIO : 0;
}
