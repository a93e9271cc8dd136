// SPDX-License-Identifier: MIT
/* pyebpf's entry point: parse the command line, run the command. */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "completions.h"
#include "dump.h"
#include "record.h"
#include "top.h"

#ifndef PYEBPF_VERSION
#define PYEBPF_VERSION "0.1.0"
#endif

int main(int argc, char **argv)
{
	struct cli_options opts;

	/* the agent has settings of its own (a config file and its flags) */
	if (argc > 1 && !strcmp(argv[1], "agent"))
		return agent_run(argc - 1, argv + 1);
	if (cli_parse(argc, argv, &opts, stderr))
		return 2;
	switch (opts.command) {
	case CLI_HELP:
		cli_print_help(stdout);
		return 0;
	case CLI_VERSION:
		printf("pyebpf %s\n", PYEBPF_VERSION);
		return 0;
	case CLI_COMPLETIONS:
		return completions_write(opts.shell, stdout) ? 1 : 0;
	case CLI_DUMP:
		return dump_run(&opts);
	case CLI_TOP:
		return top_run(&opts);
	case CLI_RECORD:
		break;
	}
	return record_run(&opts);
}
