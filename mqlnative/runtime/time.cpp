// mqlnative runtime: TimeToStruct / StructToTime, natively (proleptic Gregorian calendar,
// datetime = seconds since 1970.01.01 00:00, no time zone: as the terminal's datetime).
#include "mql/host.hpp"

namespace {
// days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms)
long days_from_civil(long y, long m, long d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(long z, long& y, long& m, long& d) {
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);
}
}  // namespace

bool TimeToStruct(datetime dt, MqlDateTime& dt_struct) {
    long days = dt >= 0 ? dt / 86400 : -((-dt + 86399) / 86400);
    long secs = dt - days * 86400;
    long y, m, d;
    civil_from_days(days, y, m, d);
    dt_struct.year = (int)y;
    dt_struct.mon = (int)m;
    dt_struct.day = (int)d;
    dt_struct.hour = (int)(secs / 3600);
    dt_struct.min = (int)(secs % 3600 / 60);
    dt_struct.sec = (int)(secs % 60);
    dt_struct.day_of_week = (int)(((days % 7) + 11) % 7);   // 1970-01-01 was a Thursday (4)
    dt_struct.day_of_year = (int)(days - days_from_civil(y, 1, 1));
    return true;
}

datetime StructToTime(MqlDateTime& dt_struct) {
    return days_from_civil(dt_struct.year, dt_struct.mon, dt_struct.day) * 86400 + dt_struct.hour * 3600L +
           dt_struct.min * 60L + dt_struct.sec;
}
