/* stats.c: GSL boundary. */
#include "stats.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_version.h>

void stats_init(void)
{
	gsl_set_error_handler_off();
}

const char *stats_gsl_version(void)
{
	return gsl_version;
}
