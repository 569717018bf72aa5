// A lab certificate authority for pools without AD CS (filled in by the lab CA work).
#pragma once
