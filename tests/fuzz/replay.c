/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay: a main() for fuzz harnesses built without libFuzzer.  Feeds every
 * file of the directories (or files) named on the command line to
 * LLVMFuzzerTestOneInput() once, so that the corpus and every past crash run
 * as a regression test under the ordinary build and its sanitizers.  Replaying
 * nothing fails: a corpus that is missing or empty tests nothing, and a typo
 * in meson.build must not pass as a clean run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int
main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) < 0)
                return 1;
            n++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        if (!d) {
            perror(argv[i]);
            return 1;
        }
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (replay_file(path) < 0)
                return 1;
            n++;
        }
        closedir(d);
    }
    if (!n) {
        fprintf(stderr, "replay: no inputs to replay (a missing or empty corpus?)\n");
        return 1;
    }
    printf("replayed %d inputs\n", n);
    return 0;
}
