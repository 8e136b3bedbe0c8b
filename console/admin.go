package console

// adminPages are the admin pages (see the package comment).
func (cons *Console) adminPages() []page { return nil }

var adminMessages = map[string]msg{}
