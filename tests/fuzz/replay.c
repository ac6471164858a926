/*
 * A main() for the libFuzzer targets (STYLE.md 7): linked with one
 * fuzz_<parser>.c instead of libFuzzer, it runs LLVMFuzzerTestOneInput()
 * once over every file in the directories (or the files) named on the
 * command line, so that plain ctest replays each corpus and a fixed
 * finding stays fixed. A finding is a crash: an abort, a signal, or an
 * ASan/UBSan/LSan report in the sanitizer build, all of which end the
 * process with a non-zero status. The value LLVMFuzzerTestOneInput()
 * returns is not a verdict (libFuzzer uses -1 only to keep an input out
 * of the corpus), so it is ignored.
 *
 * Exit status: 0 when every input ran; 2 for a usage error or a corpus
 * that cannot be read or holds no input (a test that replays nothing
 * must not pass); anything else comes from the crash itself.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
/* Optional in a target, as with libFuzzer: weak, so NULL if absent. */
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

/*
 * Read "path" into a buffer of exactly its size, so that ASan sees a read
 * one byte past the input, as under libFuzzer. *buf is NULL for an empty
 * file. Returns 0, or -1 with errno set.
 */
static int
slurp(const char *path, uint8_t **buf, size_t *len)
{
	FILE		*fp;
	struct stat	 st;
	uint8_t		*p = NULL;
	int		 saved;

	*buf = NULL;
	*len = 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(fp), &st) == -1)
		goto fail;
	if (st.st_size > 0) {
		if ((p = malloc((size_t)st.st_size)) == NULL)
			goto fail;
		if (fread(p, 1, (size_t)st.st_size, fp) !=
		    (size_t)st.st_size) {
			errno = EIO;
			goto fail;
		}
	}
	fclose(fp);
	*buf = p;
	*len = (size_t)st.st_size;
	return 0;
fail:
	saved = errno;
	free(p);
	fclose(fp);
	errno = saved;
	return -1;
}

/* Run one file; 0, or -1 if it cannot be read. */
static int
run_file(const char *path)
{
	uint8_t	*buf;
	size_t	 len;

	if (slurp(path, &buf, &len) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* Name the input first: if it crashes, this is the last line. */
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	(void)LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Run every regular file of "dir" (not recursive, dot files skipped), in
 * name order so that a run is reproducible. Adds the count to *n.
 */
static int
run_dir(const char *dir, size_t *n)
{
	DIR		 *d;
	struct dirent	 *de;
	struct stat	  st;
	char		**names = NULL, **tmp, path[4096];
	size_t		  nnames = 0, i;
	int		  rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((tmp = realloc(names, (nnames + 1) * sizeof(*names))) ==
		    NULL || (tmp[nnames] = strdup(de->d_name)) == NULL) {
			fprintf(stderr, "replay: out of memory\n");
			if (tmp != NULL)
				names = tmp;
			rc = -1;
			goto out;
		}
		names = tmp;
		nnames++;
	}
	if (nnames > 0)
		qsort(names, nnames, sizeof(*names), by_name);
	for (i = 0; i < nnames; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]) >= sizeof(path)) {
			fprintf(stderr, "replay: %s/%s: name too long\n", dir,
			    names[i]);
			rc = -1;
			continue;
		}
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(path) == -1)
			rc = -1;
		else
			(*n)++;
	}
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct stat	 st;
	size_t		 n = 0;
	int		 i, bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s corpus-dir|file ...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		(void)LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			bad = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &n) == -1)
				bad = 1;
		} else if (run_file(argv[i]) == -1)
			bad = 1;
		else
			n++;
	}
	printf("replay: %zu inputs ran without a crash\n", n);
	if (n == 0) {
		fprintf(stderr, "replay: no input found\n");
		return 2;
	}
	return bad ? 2 : 0;
}
