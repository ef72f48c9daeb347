/* The `bdyn` command line: one function per subcommand. */
#ifndef BD_CLI_H
#define BD_CLI_H

#include "bdyn/bdyn.h"

int cmd_devices(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_integrate(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_list_types(int argc, char **argv);


/* Prints "bdyn <cmd>: <message>" and returns the usage-error exit code 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "bdyn <cmd>: <status name>: <bd_last_error()>" and returns exit code 1. */
int cli_fail(const char *cmd, bd_status st);

#endif
