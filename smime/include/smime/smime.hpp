// The S/MIME core in one include.
#pragma once
#include "smime/algorithms.hpp"
#include "smime/cert.hpp"
#include "smime/classify.hpp"
#include "smime/decrypt.hpp"
#include "smime/encrypt.hpp"
#include "smime/error.hpp"
#include "smime/io.hpp"
#include "smime/mime.hpp"
#include "smime/sign.hpp"
#include "smime/verify.hpp"
