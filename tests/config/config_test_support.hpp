// Shared helpers for the config tests: TOML text is written to a fresh temp
// file and loaded through load_file, exactly as cppbx would read it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace cppbx::config::testing {

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("cppbx-config-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& text, const std::string& name = "cppbx.toml") {
    auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  Config load(const std::string& text) {
    path_ = write(text);
    return load_file(path_, diagnostics_);
  }

  std::vector<Diagnostic> of_severity(Diagnostic::Severity severity) const {
    std::vector<Diagnostic> result;
    for (const auto& d : diagnostics_.all()) {
      if (d.severity == severity) result.push_back(d);
    }
    return result;
  }
  std::vector<Diagnostic> errors() const { return of_severity(Diagnostic::Severity::Error); }
  std::vector<Diagnostic> warnings() const { return of_severity(Diagnostic::Severity::Warning); }

  // Diagnostics about exactly `key`.
  std::vector<Diagnostic> about(const std::string& key) const {
    std::vector<Diagnostic> result;
    for (const auto& d : diagnostics_.all()) {
      if (d.key == key) result.push_back(d);
    }
    return result;
  }

  std::string all_text() const {
    std::string text;
    for (const auto& d : diagnostics_.all()) text += d.to_string() + "\n";
    return text;
  }

  std::filesystem::path dir_;
  std::string path_;
  Diagnostics diagnostics_;
};

}  // namespace cppbx::config::testing
