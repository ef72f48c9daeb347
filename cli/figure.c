/* Figures as PNG (libpng), written atomically: a spike raster. */
#include "figure.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_png(const char *path, const unsigned char *rgb, int w, int h)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f) return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        unlink(tmp);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, rgb + (size_t)y * w * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int figure_raster(const char *path, const int32_t *idx, const double *t, size_t nspikes, int32_t nneurons,
                  double t_end, int32_t split)
{
    enum { W = 900, H = 500, M = 10 };
    unsigned char *rgb = malloc((size_t)W * H * 3);
    if (!rgb) return -1;
    memset(rgb, 255, (size_t)W * H * 3);
    for (int x = M - 1; x < W - M + 1; x++) /* frame */
        for (int y = M - 1; y < H - M + 1; y += H - 2 * M + 1) memset(rgb + ((size_t)y * W + x) * 3, 0, 3);
    for (int y = M - 1; y < H - M + 1; y++)
        for (int x = M - 1; x < W - M + 1; x += W - 2 * M + 1) memset(rgb + ((size_t)y * W + x) * 3, 0, 3);
    for (size_t s = 0; s < nspikes; s++) {
        int x = M + (int)(t[s] / t_end * (W - 2 * M - 1));
        int y = H - M - 1 - (int)((double)idx[s] / nneurons * (H - 2 * M - 1));
        if (x < M || x >= W - M || y < M || y >= H - M) continue;
        unsigned char *p = rgb + ((size_t)y * W + x) * 3;
        int inhibitory = idx[s] >= split; /* excitatory dark blue, inhibitory red */
        p[0] = inhibitory ? 200 : 20;
        p[1] = 20;
        p[2] = inhibitory ? 20 : 120;
    }
    int rc = write_png(path, rgb, W, H);
    free(rgb);
    return rc;
}
