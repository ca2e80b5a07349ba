#pragma once
// The plugin's gain controls (hinge_nam_lv2.cpp), shared with its test (check.cpp), which must
// compute the same factors to compare the host's output with the player's bit for bit.
#include <cmath>

namespace nam_lv2 {

// dB to a factor, the control clamped to +-40 dB. 0 dB is exactly 1.
inline float db_to_factor(float db) noexcept {
    return std::pow(10.0f, std::fmin(std::fmax(db, -40.0f), 40.0f) / 20.0f);
}

// A gain control in dB (null: not connected, 0 dB), converted only when the control moves:
// std::pow is not free, and a host may run one sample at a time.
class gain {
public:
    float factor(const float* control) noexcept {
        const float db = control ? *control : 0.0f;
        if (db != last_db_) {
            last_db_ = db;
            factor_ = db_to_factor(db);
        }
        return factor_;
    }

private:
    float last_db_ = 0.0f;
    float factor_ = 1.0f;
};

}  // namespace nam_lv2
