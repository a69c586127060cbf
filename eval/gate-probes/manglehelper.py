# Gate probe helper (t45_mangled.py): a private method, called as self.__kern() (co_names holds `_Runner__kern`).
import gatekern
class Runner:
    def run(self):
        return self.__kern()
    def __kern(self):
        return gatekern.signal_kernel(1)
