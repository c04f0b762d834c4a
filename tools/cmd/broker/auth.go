package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// user is one SCRAM-SHA-512 user of a -users file, shaped like a Strimzi KafkaUser's
// spec.authorization (helm/kafka-cluster/templates/users.yaml), so a test can hand the
// broker exactly the ACLs the chart gives each app.
type user struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	ACLs     []struct {
		Resource struct {
			Type        string `json:"type"`
			Name        string `json:"name"`
			PatternType string `json:"patternType"`
		} `json:"resource"`
		Operations []string `json:"operations"`
	} `json:"acls"`
}

// authOptions turns -tls-cert/-tls-key and -users into kfake options: TLS on the listener,
// and with users SASL required (SCRAM-SHA-512) and ACLs enforced, as on the cluster's tls
// listener. Empty flags: plaintext, no authentication (the local stack).
func authOptions(certFile, keyFile, usersFile string) ([]kfake.Opt, error) {
	var opts []kfake.Opt
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		opts = append(opts, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}
	if usersFile == "" {
		return opts, nil
	}
	raw, err := os.ReadFile(usersFile)
	if err != nil {
		return nil, err
	}
	var users []user
	if err := json.Unmarshal(raw, &users); err != nil {
		return nil, fmt.Errorf("%s: %w", usersFile, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("%s: no users", usersFile)
	}
	opts = append(opts, kfake.EnableSASL(), kfake.EnableACLs())
	for _, u := range users {
		if u.Name == "" || u.Password == "" {
			return nil, fmt.Errorf("%s: a user without a name or password", usersFile)
		}
		var acls []kfake.ACL
		for _, a := range u.ACLs {
			rt, err := kmsg.ParseACLResourceType(a.Resource.Type)
			if err != nil {
				return nil, fmt.Errorf("user %s: %w", u.Name, err)
			}
			pattern := kmsg.ACLResourcePatternTypeLiteral
			if a.Resource.PatternType == "prefix" {
				pattern = kmsg.ACLResourcePatternTypePrefixed
			}
			name := a.Resource.Name
			if rt == kmsg.ACLResourceTypeCluster {
				name = "kafka-cluster"
			}
			for _, op := range a.Operations {
				o, err := kmsg.ParseACLOperation(op)
				if err != nil {
					return nil, fmt.Errorf("user %s: %w", u.Name, err)
				}
				acls = append(acls, kfake.ACL{Resource: rt, Name: name, Pattern: pattern, Operation: o, Allow: true})
			}
		}
		opts = append(opts, kfake.User("SCRAM-SHA-512", u.Name, u.Password, acls...))
	}
	return opts, nil
}
