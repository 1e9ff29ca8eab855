module rsadecrypt

go 1.26
