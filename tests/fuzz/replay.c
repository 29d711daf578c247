/* replay.c — runs a fuzz harness without libFuzzer: LLVMFuzzerInitialize (when the harness has one), then
 * LLVMFuzzerTestOneInput over every file in the folders (or files) given, each input in a buffer of exactly
 * its size so that the sanitizers see any read past it. Prints TAP, one line per folder; a crash aborts
 * the process (the sanitizers' report names the file on the line before it). make test runs this over
 * tests/fuzz/corpus/NAME and tests/fuzz/crashers/NAME. */
#include "base/util.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Runs the harness on the file at path; returns -1 when it cannot be read. */
static int replay_file(const char *path)
{
    char *text;
    size_t len;
    if (sw_read_file(&text, &len, path, (size_t)64 << 20))
        return -1;
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(text);
        return -1;
    }
    memcpy(exact, text, len);
    free(text);
    fprintf(stderr, "replay: %s\n", path);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir (name order, dot files left out); returns how many, or -1. */
static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            names = sw_realloc(names, (n + 1) * sizeof *names);
            names[n++] = sw_sprintf("%s/%s", dir, e->d_name);
        }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]))
                count = -1;
            else if (count >= 0)
                count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    printf("1..%d\n", argc - 1);
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int n = stat(argv[i], &st) ? -1 : S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]) ? -1 : 1;
        printf("%s %d - %s: %d inputs\n", n < 0 ? "not ok" : "ok", i, argv[i], n);
        fflush(stdout);
        failed |= n < 0;
    }
    return failed;
}
