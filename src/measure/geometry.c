/* Calipers and ellipse statistics on one frame: pure arithmetic, no I/O. */
#include "hepatrack/measure.h"

#include <math.h>

#define MAX_ANGLE_OFF_DEG 3.0 /* how far from 90 degrees a drawn perpendicular may be */

/* A point in millimetres from the frame's corner. */
typedef struct mm_point {
    double x, y;
} mm_point;

static mm_point to_mm(const double spacing[2], ht_point p)
{
    return (mm_point){p.x * spacing[1], p.y * spacing[0]};
}

double ht_measure_distance_mm(const double spacing[2], ht_point a, ht_point b)
{
    mm_point p = to_mm(spacing, a), q = to_mm(spacing, b);
    return hypot(q.x - p.x, q.y - p.y);
}

static double cross(mm_point o, mm_point a, mm_point b)
{
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

/* Whether segments ab and cd cross (touching counts). */
static int segments_cross(mm_point a, mm_point b, mm_point c, mm_point d)
{
    double d1 = cross(a, b, c), d2 = cross(a, b, d), d3 = cross(c, d, a), d4 = cross(c, d, b);
    return d1 * d2 <= 0 && d3 * d4 <= 0;
}

int ht_measure_bidirectional(const double spacing[2],
                             const ht_point p[4],
                             double *long_mm,
                             double *perpendicular_mm)
{
    mm_point a = to_mm(spacing, p[0]), b = to_mm(spacing, p[1]);
    mm_point c = to_mm(spacing, p[2]), d = to_mm(spacing, p[3]);
    double l = hypot(b.x - a.x, b.y - a.y), s = hypot(d.x - c.x, d.y - c.y);
    if (l <= 0 || s <= 0)
        return ht_error_set(HT_EINVALID, "a bidirectional caliper needs two axes of non-zero "
                                         "length");
    double cosine = ((b.x - a.x) * (d.x - c.x) + (b.y - a.y) * (d.y - c.y)) / (l * s);
    double off = 90.0 - acos(fabs(cosine)) * 180.0 / M_PI;
    if (off > MAX_ANGLE_OFF_DEG)
        return ht_error_set(HT_EINVALID,
                            "the short axis must be perpendicular to the long axis (it is %.1f "
                            "degrees off; at most %.0f allowed)",
                            off, MAX_ANGLE_OFF_DEG);
    if (s > l + 1e-9)
        return ht_error_set(HT_EINVALID,
                            "the perpendicular axis (%.1f mm) is longer than the long axis "
                            "(%.1f mm): draw the longest diameter first",
                            s, l);
    if (!segments_cross(a, b, c, d))
        return ht_error_set(HT_EINVALID, "the perpendicular axis must cross the long axis");
    *long_mm = l;
    *perpendicular_mm = s;
    return HT_OK;
}

int ht_measure_ellipse(
    const ht_frame *f, const double spacing[2], ht_point a, ht_point b, ht_roi_stats *out)
{
    if (f->format == HT_SAMPLE_RGB8)
        return ht_error_set(HT_EINVALID, "a density cannot be measured on a colour frame");
    double x0 = fmin(a.x, b.x), x1 = fmax(a.x, b.x), y0 = fmin(a.y, b.y), y1 = fmax(a.y, b.y);
    if (x0 < 0 || y0 < 0 || x1 > f->columns || y1 > f->rows)
        return ht_error_set(HT_EINVALID,
                            "the ellipse's box (%.1f, %.1f)–(%.1f, %.1f) is outside the %ux%u "
                            "frame",
                            x0, y0, x1, y1, f->columns, f->rows);
    double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, rx = (x1 - x0) / 2, ry = (y1 - y0) / 2;
    double sum = 0, sum2 = 0;
    size_t n = 0;
    if (rx > 0 && ry > 0)
        for (uint32_t row = (uint32_t)y0; row < (uint32_t)ceil(y1) && row < f->rows; row++) {
            double dy = (row + 0.5 - cy) / ry;
            for (uint32_t col = (uint32_t)x0; col < (uint32_t)ceil(x1) && col < f->columns; col++) {
                double dx = (col + 0.5 - cx) / rx;
                if (dx * dx + dy * dy > 1.0)
                    continue;
                double v =
                    (double)ht_frame_sample(f, (size_t)row * f->columns + col) * f->rescale_slope +
                    f->rescale_intercept;
                sum += v;
                sum2 += v * v;
                n++;
            }
        }
    if (n == 0)
        return ht_error_set(HT_EINVALID, "the ellipse holds no pixel centre: draw it larger");
    out->pixels = n;
    out->mean = sum / (double)n;
    out->sd = sqrt(fmax(0.0, sum2 / (double)n - out->mean * out->mean));
    out->area_mm2 = (double)n * spacing[0] * spacing[1];
    return HT_OK;
}
