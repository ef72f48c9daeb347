/* Figures as PNG (libpng), written atomically: a spike raster and stacked traces. */
#include "figure.h"

#include <math.h>
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

static void frame(unsigned char *rgb, int W, int x0, int y0, int x1, int y1)
{
    for (int x = x0; x <= x1; x++) {
        memset(rgb + ((size_t)y0 * W + x) * 3, 0, 3);
        memset(rgb + ((size_t)y1 * W + x) * 3, 0, 3);
    }
    for (int y = y0; y <= y1; y++) {
        memset(rgb + ((size_t)y * W + x0) * 3, 0, 3);
        memset(rgb + ((size_t)y * W + x1) * 3, 0, 3);
    }
}

int figure_traces(const char *path, const double *t, size_t n, const double *const *y, size_t npanels,
                  size_t ncurves, size_t stride)
{
    enum { W = 900, PH = 180, M = 10 };
    static const unsigned char colors[5][3] = {{20, 20, 140}, {200, 30, 30}, {20, 130, 40}, {150, 90, 0}, {120, 0, 140}};
    if (npanels == 0 || npanels > 16 || n == 0) return -1;
    int H = (int)npanels * PH;
    unsigned char *rgb = malloc((size_t)W * H * 3);
    if (!rgb) return -1;
    memset(rgb, 255, (size_t)W * H * 3);
    double span = n > 1 && t[n - 1] > t[0] ? t[n - 1] - t[0] : 1.0;
    for (size_t v = 0; v < npanels; v++) {
        int top = (int)v * PH + M, bottom = (int)(v + 1) * PH - M;
        frame(rgb, W, M - 1, top - 1, W - M, bottom + 1);
        double lo = INFINITY, hi = -INFINITY;
        for (size_t r = 0; r < n; r++)
            for (size_t c = 0; c < ncurves; c++) {
                double val = y[v][r * stride + c];
                if (isfinite(val)) lo = val < lo ? val : lo, hi = val > hi ? val : hi;
            }
        if (!(hi > lo)) lo -= 1, hi += 1;
        for (size_t c = 0; c < ncurves; c++) {
            int px = -1, py = -1;
            for (size_t r = 0; r < n; r++) {
                double val = y[v][r * stride + c];
                if (!isfinite(val)) continue;
                int x = M + (int)((t[r] - t[0]) / span * (W - 2 * M - 1));
                int yy = bottom - (int)((val - lo) / (hi - lo) * (bottom - top));
                /* a vertical run joins consecutive samples, so fast transients stay visible */
                int y0 = px == x - 1 || px == x ? py : yy, a = y0 < yy ? y0 : yy, b = y0 < yy ? yy : y0;
                for (int q = a; q <= b; q++)
                    if (x >= M && x < W - M && q >= top && q <= bottom)
                        memcpy(rgb + ((size_t)q * W + x) * 3, colors[c % 5], 3);
                px = x, py = yy;
            }
        }
    }
    int rc = write_png(path, rgb, W, H);
    free(rgb);
    return rc;
}
