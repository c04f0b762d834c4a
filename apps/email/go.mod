module github.com/kafka-restaurants/kafka-restaurants/apps/email

go 1.26
