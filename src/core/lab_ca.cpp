#include "poolcert/lab_ca.hpp"
