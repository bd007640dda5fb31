#pragma once
// The classifier's epoch records as JSON (checkpoints) and as CSV rows (metrics.csv of a run folder).
#include <string>
#include <vector>

#include "rkhs/core/run_folder.h"
#include "rkhs/train/trainer.h"

namespace rkhs::train {

// EpochRecord history <-> JSON array (doubles round-trip exactly).
std::string history_to_json(const std::vector<EpochRecord>& history);
std::vector<EpochRecord> history_from_json(const std::string& json);

// The CSV header and one row of metrics.csv (without the trailing newline):
// epoch,lr,train_loss,train_accuracy,train_nll,train_ece,val_accuracy,val_nll,val_ece,seconds
// (validation columns empty without validation; numbers with 10 significant digits).
std::string metrics_csv_header();
std::string metrics_csv_row(const EpochRecord& record);
// Appends one row to folder/metrics.csv (the header first when the file is new).
void append_epoch(core::RunFolder& folder, const EpochRecord& record);

}  // namespace rkhs::train
