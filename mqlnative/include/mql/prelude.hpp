// mql/prelude.hpp - first include of every translated MQL program (mqlnative/translate.py).
// The language (core.hpp, helper A), then the terminal API for the branch (api_*.hpp, C1).
#pragma once
#include "mql/core.hpp"
#if __has_include("mql/api_common.hpp")
#include "mql/api_common.hpp"
#endif
#if defined(__MQL5__) && __has_include("mql/api_mql5.hpp")
#include "mql/api_mql5.hpp"
#endif
#if defined(__MQL4__) && __has_include("mql/api_mql4.hpp")
#include "mql/api_mql4.hpp"
#endif
