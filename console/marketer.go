package console

// marketerPages are the marketer pages (see the package comment).
func (cons *Console) marketerPages() []page { return nil }

var marketerMessages = map[string]msg{}
