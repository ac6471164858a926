/*
 * libFuzzer target for conf_load_string() (STYLE.md 7): configuration
 * text is what an operator, or a bad deploy script, hands the server.
 * The name is absolute so no getcwd() runs, and conf_load_string()
 * refuses @include, so the target never touches the file system.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
const char	*__lsan_default_suppressions(void);

/*
 * XXX libconfig's grammar (1.5 up to at least 1.7.3) has no %destructor
 * for TOK_STRING: a syntax error with a string as the lookahead token,
 * as in 'x "abc";', drops the scanner's copy unfreed. The leak is
 * libconfig's; suppress just that stack (read by LeakSanitizer when it
 * starts) so leaks of settings conf.c forgot to destroy still show.
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*conf = NULL;
	struct sg_err	 err;
	char		*text = NULL;

	/* libconfig takes a C string; a NUL inside just ends it early. */
	text = malloc(size + 1);
	conf = malloc(sizeof(*conf));
	if (text == NULL || conf == NULL)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';
	if (conf_load_string(text, "/fuzz/scepgate.conf", conf, &err) ==
	    SG_OK)
		(void)conf_ra_find(conf, conf->ra[0].id);
out:
	free(conf);
	free(text);
	return 0;
}
