package mat32

//go:generate sh -c "cd internal/asmgen && go run . -out ../../kernel_amd64.s -stubs ../../kernel_stubs_amd64.go -pkg mat32"
