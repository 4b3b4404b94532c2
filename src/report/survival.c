/* A subject's PFS and OS (spec 9), from its records and its results under one criterion: what
 * the cohort, its pictures and the CDISC export all count, computed in one place. */
#include "hepatrack/report.h"

#include "hepatrack/ledger.h"

const char *ht_report_survival_rule(ht_survival_end end)
{
    switch (end) {
    case HT_END_PROGRESSION:
        return "progression";
    case HT_END_DEATH:
        return "death";
    case HT_END_BEFORE_MISSED_VISITS:
        return "event after two or more missed visits: last assessment before them";
    case HT_END_LAST_ASSESSMENT:
        return "no progression: last assessment";
    case HT_END_START:
        return "no assessment after baseline: day 0";
    case HT_END_LAST_KNOWN_ALIVE:
        return "alive: last known alive";
    default:
        return "alive: last time point";
    }
}

/* PFS: to the earlier of progression and death, censored at the last assessment; an event after
 * two or more consecutive missed visits is censored before them (A20). */
static void pfs(const ht_rs_subject *s,
                const ht_rs_result *res,
                const ht_ledger_dates *dates,
                int32_t interval,
                ht_report_survival *out)
{
    int32_t event = HT_NO_VALUE;
    int prog = res->bor.progression_tp;
    if (prog >= 0)
        event = s->timepoints[res->timepoints[prog].index].day;
    int death =
        dates->death_date != HT_NO_VALUE && (event == HT_NO_VALUE || dates->death_date < event);
    if (death)
        event = dates->death_date;
    /* The last follow-up with imaging before the event (or at all), and the run of recorded
     * time points without imaging right before the event. */
    int32_t last = HT_NO_VALUE;
    int recorded_run = 0;
    for (int p = 1; p < res->ntimepoints; p++) {
        const ht_rs_timepoint *tp = &s->timepoints[res->timepoints[p].index];
        if (event != HT_NO_VALUE && tp->day >= event)
            break;
        if (tp->imaging_performed) {
            last = tp->day;
            recorded_run = 0;
        } else {
            recorded_run++;
        }
    }
    int32_t from = last != HT_NO_VALUE ? last : s->timepoints[res->timepoints[0].index].day;
    /* With a visit schedule, the scheduled visits strictly between `from` and the event. */
    int by_interval = 0;
    if (interval != HT_NO_VALUE && event != HT_NO_VALUE && event > from)
        by_interval = (event - from - 1) / interval;
    int missed_before_event = recorded_run > by_interval ? recorded_run : by_interval;
    int32_t end;
    if (event != HT_NO_VALUE && missed_before_event < 2) {
        end = event;
        out->pfs_end = death ? HT_END_DEATH : HT_END_PROGRESSION;
    } else if (event != HT_NO_VALUE) {
        end = from;
        out->pfs_end = HT_END_BEFORE_MISSED_VISITS;
    } else if (last != HT_NO_VALUE) {
        end = last;
        out->pfs_end = HT_END_LAST_ASSESSMENT;
    } else {
        end = out->start;
        out->pfs_end = HT_END_START;
    }
    out->pfs_censored = out->pfs_end != HT_END_DEATH && out->pfs_end != HT_END_PROGRESSION;
    out->pfs_days = end < out->start ? 0 : end - out->start;
}

/* OS: to death, else censored at the last known alive date, else at the last time point. */
static void os(const ht_rs_subject *s,
               const ht_rs_result *res,
               const ht_ledger_dates *dates,
               ht_report_survival *out)
{
    int32_t end = dates->death_date;
    out->os_end = HT_END_DEATH;
    if (end == HT_NO_VALUE && dates->last_known_alive != HT_NO_VALUE) {
        end = dates->last_known_alive;
        out->os_end = HT_END_LAST_KNOWN_ALIVE;
    } else if (end == HT_NO_VALUE) {
        end = s->timepoints[res->timepoints[res->ntimepoints - 1].index].day;
        out->os_end = HT_END_LAST_TIMEPOINT;
    }
    out->os_censored = out->os_end != HT_END_DEATH;
    out->os_days = end < out->start ? 0 : end - out->start;
}

void ht_report_survival_of(const ht_ledger_subject *subject,
                           const ht_rs_result *result,
                           int32_t assessment_interval_days,
                           ht_report_survival *out)
{
    const ht_rs_subject *s = ht_ledger_engine_input(subject);
    ht_ledger_dates dates = ht_ledger_subject_dates(subject);
    out->start = dates.treatment_start != HT_NO_VALUE
                     ? dates.treatment_start
                     : s->timepoints[result->timepoints[0].index].day;
    pfs(s, result, &dates, assessment_interval_days, out);
    os(s, result, &dates, out);
}
